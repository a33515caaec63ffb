create or replace function docpal_private.company_behind(p_company uuid, p_schema_version integer)
    returns boolean
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether docpal_private.upgrade_company has anything to do in the company:
   its base template or one of its modules is behind the installed steps, or
   a generator whose objects it has was changed since they were made.
   Takes the company's id and schema version, not its row (contract
   section 10, rule 10). */
select p_schema_version < (select coalesce(max(s.version), 0) from docpal_private.tenant_steps s
                            where s.module = 'base')
    or exists (select from docpal_private.company_modules m
                where m.company_id = p_company
                  and m.version < (select max(s.version) from docpal_private.tenant_steps s where s.module = m.module))
    or exists (select from docpal_private.generators g
                where (g.module = 'base'
                       or exists (select from docpal_private.company_modules m
                                   where m.company_id = p_company and m.module = g.module))
                  and g.fingerprint is distinct from (select cg.fingerprint from docpal_private.company_generators cg
                                                       where cg.company_id = p_company and cg.generator = g.name));
$$;
