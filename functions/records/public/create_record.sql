-- grant: docpal_service, docpal_app
create or replace function docpal.create_record(slug text, data jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Inserts one record and returns it as stored (absent keys take their
   defaults). Errors: 42P01 unknown table, 42703 unknown key, 22023 read-only
   column, 22P02/22007/22008 unconvertible value, 23502 required, 23505
   unique, 23503 relation target, 23514 rule (DETAIL {column, rule, value});
   a state column a workflow governs starts at its initial state (absent
   or null), any other value is 23514 (rule "workflow"); an explicit id the
   table's audit log knows (a deleted record's) is 23505; a new row that no
   create grant of the caller covers, or whose written columns those grants
   do not give, is 23514 with rule row_filter (nothing is written). A DETAIL
   value the caller may not read is null. Returns only the cells the caller
   may read (docpal_private.cell_image). */
declare
    v_ctx docpal_private.caller;
    v_spec jsonb;
    v_columns text[];
    v_many text[];
    v_result jsonb;
    v_targets text;
    v_values text;
    v_filled text[] := '{}';
    v_data jsonb := create_record.data;
    v_perm jsonb;
    v_read jsonb;
    v_grants jsonb;
    v_n integer;
    v_matched boolean[];
    v_id uuid;
    v_insert text;
begin
    perform docpal_private.citus_share();  -- the context on to Citus workers, if any
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, create_record.slug);
    if v_spec ? 'workflows' and pg_catalog.jsonb_typeof(v_data) = 'object' then
        -- state columns start at their workflow's initial state (23514 for any other)
        select w.o_rows->0, w.o_filled into v_data, v_filled
          from docpal_private.workflow_rows(v_spec, pg_catalog.jsonb_build_array(v_data)) w;
    end if;
    select coalesce(pg_catalog.array_agg(k.key) filter (where not k.many), '{}'),
           coalesce(pg_catalog.array_agg(k.key) filter (where k.many), '{}')
      into v_columns, v_many
      from docpal_private.write_keys(v_spec, v_data, true) k;
    v_perm := docpal_private.require_permission(v_ctx, create_record.slug, 'create',
                                              case when pg_catalog.cardinality(v_filled) = 0 then v_columns || v_many
                                                   else array(select c from pg_catalog.unnest(v_columns || v_many) c
                                                               where c <> all (v_filled)) end);
    v_read := docpal_private.permission(v_ctx, create_record.slug, 'read');
    if v_data ? 'id' then  -- an explicit id: not one the audit log knows (23505)
        perform docpal_private.require_new_ids(v_ctx.schema_name, create_record.slug, pg_catalog.jsonb_build_array(v_data));
    end if;
    if docpal_private.company_distributed(v_ctx.schema_name) then
        -- Citus: INSERT ... VALUES, which it sends to the company's node as
        -- one statement; INSERT ... SELECT from a function would go through
        -- an intermediate result (COPY, then a two-phase commit)
        select l.o_targets, l.o_values into v_targets, v_values
          from docpal_private.insert_lists(v_columns, pg_catalog.format('(pg_catalog.jsonb_populate_record(null::%I.%I, $1))',
                                                                       v_ctx.schema_name, create_record.slug)) l;
        v_insert := pg_catalog.format('insert into %I.%I as _t (%s) values (%s) returning _t.id',
                                      v_ctx.schema_name, create_record.slug, v_targets, v_values);
    else
        select l.o_targets, l.o_values into v_targets, v_values from docpal_private.insert_lists(v_columns) l;
        v_insert := pg_catalog.format(
            'insert into %I.%I as _t (%s) select %s from pg_catalog.jsonb_populate_record(null::%I.%I, $1) _r returning _t.id',
            v_ctx.schema_name, create_record.slug, v_targets, v_values, v_ctx.schema_name, create_record.slug);
    end if;
    v_id := (docpal_private.write_rows(v_ctx.schema_name, v_spec, pg_catalog.jsonb_build_array(v_data),
                                       docpal_private.cell_columns(v_read->'grants', null),
                                       array[v_insert], array[v_data], v_ctx.user_id, v_many))[1];
    -- the new row as stored, with the create grants then the read grants that cover it
    v_grants := (v_perm->'grants') || coalesce(v_read->'grants', '[]');
    v_n := pg_catalog.jsonb_array_length(v_perm->'grants');
    select c.record, c.matched into v_result, v_matched
      from docpal_private.record_cells(v_ctx.schema_name, v_spec, v_grants, array[v_id]) c;
    -- a create grant's row filter holds on the new row, cell by cell (else 23514, rolled back)
    perform docpal_private.require_write_cells(create_record.slug, 'create', true, v_perm->'grants', v_matched[1:v_n],
                                               array(select c from pg_catalog.unnest(v_columns || v_many) c
                                                      where c <> 'id' and c <> all (v_filled)), v_id);
    -- the caller gets back only the cells they may read
    return docpal_private.cell_image(coalesce(v_read->'grants', '[]'), v_matched[v_n + 1:], v_result);
end
$$;
