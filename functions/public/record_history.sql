-- grant: docpal_service, docpal_app
create or replace function docpal.record_history(slug text, id uuid)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Every audit entry of the record, oldest first ([] for an id never seen);
   42P01 for an unknown table. */
declare
    v_ctx record;
    v_history jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    if not docpal_private.history_visible(v_ctx.schema_name, v_ctx.user_id, v_ctx.member_role, v_ctx.scopes,
                                          docpal_private.table_spec(v_ctx.schema_name, record_history.slug),
                                          record_history.id) then
        return '[]';
    end if;
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(%s order by e.id), ''[]'')
           from %I._audit_log e where e."table" = $1 and e.record_id = $2',
        docpal_private.audit_entry_sql(v_ctx.schema_name, 'e'), v_ctx.schema_name)
       into v_history using record_history.slug, record_history.id;
    return v_history;
end
$$;
