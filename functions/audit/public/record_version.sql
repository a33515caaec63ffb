-- grant: docpal_service, docpal_app
create or replace function docpal.record_version(slug text, id uuid, version integer)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The record as it was at that version, shaped as get_record returns it;
   null when it never had that version (or the caller may not see it),
   without the columns the caller may not read. 42P01 for an unknown table. */
declare
    v_ctx docpal_private.caller;
    v_spec jsonb;
    v_hidden text[];
begin
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, record_version.slug);
    v_hidden := docpal_private.history_access(v_ctx, v_spec, record_version.id);
    if v_hidden is null then
        return null;
    end if;
    return docpal_private.record_state(v_ctx.schema_name, v_spec, record_version.id, record_version.version, null) - v_hidden;
end
$$;
