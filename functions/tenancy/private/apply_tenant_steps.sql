create or replace function docpal_private.apply_tenant_steps(p_company uuid)
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
    -- a busy tenant table makes a step fail fast instead of queueing its traffic
    set lock_timeout = '5s'
as $$
/* Brings one company schema to the current tenant template, in the caller's
   transaction, and returns the version it is now at. The company row is
   locked first, so two upgrades of one company run one after the other and
   the second finds nothing to do. */
declare
    v_company docpal_private.companies;
    v_step docpal_private.tenant_steps;
    v_statement text;
begin
    v_company := docpal_private.company_for_update(p_company);
    for v_step in
        select * from docpal_private.tenant_steps s
         where s.version > v_company.schema_version
         order by s.version
    loop
        foreach v_statement in array v_step.statements loop
            execute pg_catalog.format(v_statement, v_company.schema_name);
        end loop;
        v_company.schema_version := v_step.version;
    end loop;
    update docpal_private.companies c
       set schema_version = v_company.schema_version
     where c.id = p_company and c.schema_version <> v_company.schema_version;
    return v_company.schema_version;
end
$$;
