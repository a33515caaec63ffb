-- grant: docpal_service, docpal_app
create or replace function docpal.update_record(slug text, id uuid, patch jsonb, expected_version integer default null)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Applies patch to the record and returns it. A patch that changes nothing
   writes nothing (same version). The row is locked first, so concurrent
   updates with the same expected_version go one at a time and all but the
   first get 40001. P0002 when the record does not exist, or no update
   grant of the caller covers its row, or the caller holds read grants and
   none covers it; 42501 for a column written that no update grant covering
   the row gives; 23514 rule row_filter when the row after the update falls
   outside the update grants (cell by cell: every column written must be
   given by a grant covering the new row), and nothing is changed; 23514
   (rule "workflow") when it would change a column a workflow governs; other
   errors as create_record (a DETAIL value the caller may not read on the
   row is null). Returns only the cells the caller may read. */
declare
    v_ctx docpal_private.caller;
    v_spec jsonb;
    v_columns text[];
    v_many text[];
    v_version integer;
    v_result jsonb;
    v_perm jsonb;
    v_read jsonb;
    v_grants jsonb;
    v_n integer;
    v_matched boolean[];
begin
    perform docpal_private.citus_share();  -- the context on to Citus workers, if any
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, update_record.slug);
    select coalesce(pg_catalog.array_agg(k.key) filter (where not k.many), '{}'),
           coalesce(pg_catalog.array_agg(k.key) filter (where k.many), '{}')
      into v_columns, v_many
      from docpal_private.write_keys(v_spec, update_record.patch, false) k;
    v_perm := docpal_private.require_permission(v_ctx, update_record.slug, 'update', v_columns || v_many);
    v_read := docpal_private.permission(v_ctx, update_record.slug, 'read');
    -- the update grants, then the read grants: one statement locks the row and evaluates them all
    v_grants := (v_perm->'grants') || coalesce(v_read->'grants', '[]');
    v_n := pg_catalog.jsonb_array_length(v_perm->'grants');
    select (c.record->>'version')::integer, c.matched into v_version, v_matched
      from docpal_private.record_cells(v_ctx.schema_name, v_spec, v_grants, array[update_record.id], true) c;
    if v_version is null or (v_read is not null and not coalesce(true = any (v_matched[v_n + 1:]), false)) then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', update_record.id, update_record.slug);
    end if;
    -- the row before: an update grant covers it and gives every column written
    perform docpal_private.require_write_cells(update_record.slug, 'update', false, v_perm->'grants', v_matched[1:v_n],
                                               v_columns || v_many, update_record.id);
    if update_record.expected_version is not null and update_record.expected_version <> v_version then
        raise exception using errcode = '40001',
            message = pg_catalog.format('record %s of table %s is at version %s, not %s',
                                        update_record.id, update_record.slug, v_version, update_record.expected_version);
    end if;
    if v_spec ? 'workflows' then
        -- a state column a workflow governs moves only through transition_record (23514)
        perform docpal_private.workflow_update(v_ctx.schema_name, v_spec, update_record.id, update_record.patch);
    end if;
    perform docpal_private.write_rows(
        v_ctx.schema_name, v_spec, pg_catalog.jsonb_build_array(update_record.patch),
        docpal_private.cell_columns(v_read->'grants', v_matched[v_n + 1:]),
        case when pg_catalog.cardinality(v_columns) > 0 then array[pg_catalog.format(
            'update %I.%I as _t set (%s, updated_by) = row(%s, $2)
               from pg_catalog.jsonb_populate_record(null::%I.%I, $1) _r
              where _t.id = $3[1] and (%s) is distinct from (%s)
              returning _t.id',
            v_ctx.schema_name, update_record.slug,
            (select pg_catalog.string_agg(pg_catalog.format('%I', c), ', ') from pg_catalog.unnest(v_columns) c),
            (select pg_catalog.string_agg(pg_catalog.format('_r.%I', c), ', ') from pg_catalog.unnest(v_columns) c),
            v_ctx.schema_name, update_record.slug,
            (select pg_catalog.string_agg(pg_catalog.format('_t.%I', c), ', ') from pg_catalog.unnest(v_columns) c),
            (select pg_catalog.string_agg(pg_catalog.format('_r.%I', c), ', ') from pg_catalog.unnest(v_columns) c))]
        else '{}' end,
        array[update_record.patch], v_ctx.user_id, v_many, array[update_record.id], p_bump => true);
    -- the row after: still covered by an update grant giving every column written (else 23514, rolled back)
    select c.record, c.matched into v_result, v_matched
      from docpal_private.record_cells(v_ctx.schema_name, v_spec, v_grants, array[update_record.id]) c;
    perform docpal_private.require_write_cells(update_record.slug, 'update', true, v_perm->'grants', v_matched[1:v_n],
                                               v_columns || v_many, update_record.id);
    -- the caller gets back only the cells they may read
    return docpal_private.cell_image(coalesce(v_read->'grants', '[]'), v_matched[v_n + 1:], v_result);
end
$$;
