create or replace function docpal_private.tenant_module(p_schema text, p_module text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Makes sure the company of schema p_schema has tenant module p_module
   (sql/tenant/<module>/NNNN_*.sql): on its first use the module's steps are
   applied (docpal_private.apply_tenant_steps, under the company's lock for
   the module, so two first users make it once) and recorded in
   company_modules; afterwards this is one index lookup. A module a company
   has is upgraded by `docpal migrate` (docpal_private.upgrade_company), not
   here. Modules keep create_company cheap: a company without tables,
   grants, relations or workflows has none of their objects. P0002 for a
   schema that is no company's. */
declare
    v_company uuid := docpal_private.company_of_schema(p_schema);
begin
    if not exists (select from docpal_private.company_modules m
                    where m.company_id = v_company and m.module = p_module) then
        perform docpal_private.apply_tenant_steps(v_company, p_module);
    end if;
end
$$;
