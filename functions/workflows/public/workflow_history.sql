-- grant: docpal_service, docpal_app
create or replace function docpal.workflow_history(slug text, id uuid)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The record's workflow log, oldest first: [{id, at, workflow, transition,
   kind, from, to, user_id, comment}], kind "approval" (to is null: more
   approvals were needed) or "transition" (the state moved). [] when the
   company has no workflow log yet. 42P01 unknown table, 42501 without read
   permission on it, P0002 a record that does not exist or that no read
   grant of the caller covers. from and to are null where the caller may
   not read the state column on this record (grants combine cell by cell). */
declare
    v_ctx docpal_private.caller;
    v_spec jsonb;
    v_perm jsonb;
    v_result jsonb;
    v_found boolean;
    v_matched boolean[];
    v_readable text[];
    v_masked text[];
begin
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, workflow_history.slug);
    v_perm := docpal_private.require_permission(v_ctx, workflow_history.slug, 'read');
    select true, c.matched into v_found, v_matched
      from docpal_private.record_cells(v_ctx.schema_name, v_spec, v_perm->'grants', array[workflow_history.id]) c;
    if not coalesce(v_found and true = any (v_matched), false) then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', workflow_history.id, workflow_history.slug);
    end if;
    if pg_catalog.to_regclass(pg_catalog.format('%I._workflow_log', v_ctx.schema_name)) is null then
        return '[]';
    end if;
    -- the workflows whose state column the caller may not read on this record
    v_readable := docpal_private.cell_columns(v_perm->'grants', v_matched);
    v_masked := array(select w.value->>'workflow' from pg_catalog.jsonb_each(coalesce(v_spec->'workflows', '{}')) w
                       where v_readable is not null and w.key <> all (v_readable));
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    ''id'', l.id, ''at'', l.at, ''workflow'', l.workflow, ''transition'', l.transition, ''kind'', l.kind,
                    ''from'', case when l.workflow <> all ($3) then l.from_state end,
                    ''to'', case when l.workflow <> all ($3) then l.to_state end,
                    ''user_id'', l.user_id, ''comment'', l.comment) order by l.id), ''[]'')
           from %I._workflow_log l where l."table" = $1 and l.record_id = $2', v_ctx.schema_name)
       into v_result using workflow_history.slug, workflow_history.id, v_masked;
    return v_result;
end
$$;
