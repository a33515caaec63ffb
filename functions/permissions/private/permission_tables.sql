create or replace function docpal_private.permission_tables(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The company's permission tables and its compiled _permission function:
   tenant module "permissions" (sql/tenant/permissions/), made on the first
   write of a permission (not with the company: every relation costs
   several ms of create_company, and most companies use only the built-in
   roles). Until then a member holds no grants, which is what the absent
   tables mean. */
begin
    perform docpal_private.tenant_module(p_schema, 'permissions');
end
$$;
