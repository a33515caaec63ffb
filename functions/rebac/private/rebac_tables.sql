create or replace function docpal_private.rebac_tables(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The company's ReBAC tables (_relation_rules, _tuples) and compiled
   functions: tenant module "rebac" (sql/tenant/rebac/), made on the first
   define_relations or relate, not with the company. Until then every check
   is false. */
begin
    perform docpal_private.tenant_module(p_schema, 'rebac');
end
$$;
