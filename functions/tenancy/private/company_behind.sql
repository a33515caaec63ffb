create or replace function docpal_private.company_behind(p_company docpal_private.companies)
    returns boolean
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether docpal_private.upgrade_company has anything to do in the company:
   its base template or one of its modules is behind the installed steps, or
   a generator whose objects it has was changed since they were made. */
select p_company.schema_version < (select coalesce(max(s.version), 0) from docpal_private.tenant_steps s
                                    where s.module = 'base')
    or exists (select from docpal_private.company_modules m
                where m.company_id = p_company.id
                  and m.version < (select max(s.version) from docpal_private.tenant_steps s where s.module = m.module))
    or exists (select from docpal_private.generators g
                where (g.module = 'base'
                       or exists (select from docpal_private.company_modules m
                                   where m.company_id = p_company.id and m.module = g.module))
                  and g.fingerprint is distinct from (select cg.fingerprint from docpal_private.company_generators cg
                                                       where cg.company_id = p_company.id and cg.generator = g.name));
$$;
