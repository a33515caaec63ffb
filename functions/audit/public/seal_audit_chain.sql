-- grant: docpal_service, docpal_app
create or replace function docpal.seal_audit_chain()
    returns bigint
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Chains the company's committed, unsealed audit entries; returns how many
   (docpal_private.seal_audit). */
declare
    v_ctx record;
begin
    select * into v_ctx from docpal_private.require_company();
    return docpal_private.seal_audit(v_ctx.schema_name);
end
$$;
