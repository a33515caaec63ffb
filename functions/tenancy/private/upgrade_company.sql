create or replace function docpal_private.upgrade_company(p_company uuid)
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
    -- rewritten to the platform lock timeout by apply_lock_timeout
    set lock_timeout = '2s'
as $$
/* Brings everything one company schema holds to the installed version, in
   the caller's transaction, and returns its base template version:
   1. the base template (its row locked first: two upgrades of one company
      run one after the other);
   2. every tenant module the company has (company_modules), each under the
      company's lock for that module;
   3. every generator whose objects the company has (its module) and whose
      recorded fingerprint differs from the installed one (or was never
      recorded): its objects are generated again (generators.regenerate,
      called with the schema name), and the fingerprint recorded.
   Run by docpal_private.upgrade_tenants for every company that
   docpal_private.company_behind names. */
declare
    v_version integer;
    v_schema text;
    v_module text;
    v_generator record;
begin
    v_version := docpal_private.apply_tenant_steps(p_company);
    select c.schema_name into strict v_schema from docpal_private.companies c where c.id = p_company;
    for v_module in
        select m.module from docpal_private.company_modules m where m.company_id = p_company order by m.module
    loop
        perform docpal_private.apply_tenant_steps(p_company, v_module);
    end loop;
    for v_generator in
        select g.* from docpal_private.generators g
         where (g.module = 'base'
                or exists (select from docpal_private.company_modules m
                            where m.company_id = p_company and m.module = g.module))
           and g.fingerprint is distinct from (select cg.fingerprint from docpal_private.company_generators cg
                                                where cg.company_id = p_company and cg.generator = g.name)
         order by g.name
    loop
        perform docpal_private.company_lock(v_schema, 'module:' || v_generator.module);
        execute pg_catalog.format('select %s(%L)', v_generator.regenerate, v_schema);
        perform docpal_private.generated(p_company, v_generator.name);
    end loop;
    return v_version;
end
$$;
