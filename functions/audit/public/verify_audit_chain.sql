-- grant: docpal_service, docpal_app
create or replace function docpal.verify_audit_chain()
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Seals the company's committed entries, then checks its whole chain:
   {ok, checked, first_broken} (docpal_private.verify_audit). */
declare
    v_ctx record;
begin
    select * into v_ctx from docpal_private.require_company();
    perform docpal_private.seal_audit(v_ctx.schema_name);
    return docpal_private.verify_audit(v_ctx.schema_name);
end
$$;
