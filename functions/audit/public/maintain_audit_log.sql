-- grant: docpal_service, docpal_app
create or replace function docpal.maintain_audit_log(keep_months integer default null, archive boolean default false)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Audit log upkeep for the company in context (docpal_private.maintain_audit):
   partitions, sealing, and retention with keep_months. Company owners and
   admins only (42501). */
declare
    v_ctx record;
begin
    select * into v_ctx from docpal_private.require_admin();
    return docpal_private.maintain_audit(v_ctx.schema_name, maintain_audit_log.keep_months, maintain_audit_log.archive);
end
$$;
