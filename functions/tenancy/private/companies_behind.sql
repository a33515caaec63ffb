create or replace function docpal_private.companies_behind()
    returns table (company_id uuid, schema_version integer, created_at timestamptz)
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Every company docpal_private.company_behind names, in one pass over the
   companies and the modules and generators they have (hash joins), not one
   call per company: `docpal migrate` with nothing to do then costs about
   the same at 10,000 companies as at 100 (issue 19). Same conditions as
   company_behind: the base template behind the installed steps, a module
   the company has behind its steps, or a generator of the base template or
   of such a module whose recorded fingerprint differs (or is missing).
   tests/test_tenants_baseline.py checks that both agree. */
with behind (id) as (
    select c.id from docpal_private.companies c
     where c.schema_version < (select coalesce(max(s.version), 0) from docpal_private.tenant_steps s
                                where s.module = 'base')
    union
    select m.company_id from docpal_private.company_modules m
      join (select s.module, max(s.version) as version from docpal_private.tenant_steps s
             group by s.module) t on t.module = m.module
     where m.version < t.version
    union
    select c.id from docpal_private.companies c
      join docpal_private.generators g on g.module = 'base'
      left join docpal_private.company_generators cg on cg.company_id = c.id and cg.generator = g.name
     where g.fingerprint is distinct from cg.fingerprint
    union
    select m.company_id from docpal_private.company_modules m
      join docpal_private.generators g on g.module = m.module
      left join docpal_private.company_generators cg on cg.company_id = m.company_id and cg.generator = g.name
     where g.fingerprint is distinct from cg.fingerprint
)
select c.id, c.schema_version, c.created_at
  from docpal_private.companies c
 where c.id in (select b.id from behind b);
$$;
