-- grant: docpal_service, docpal_app
create or replace function docpal.record_version(slug text, id uuid, version integer)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The record as it was at that version, shaped as get_record returns it;
   null when it never had that version. 42P01 for an unknown table. */
declare
    v_ctx record;
begin
    select * into v_ctx from docpal_private.require_company();
    return docpal_private.record_state(v_ctx.schema_name,
                                       docpal_private.table_spec(v_ctx.schema_name, record_version.slug),
                                       record_version.id, record_version.version, null);
end
$$;
