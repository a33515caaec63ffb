create or replace function docpal_private.company_distributed(p_schema text)
    returns boolean
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether company schema p_schema is a Citus distributed schema (contract
   section 10): made so by create_company with the platform setting
   distributed on, or by the DBA with citus_schema_distribute. False
   without Citus (one catalog lookup). */
declare
    v_distributed boolean;
begin
    if pg_catalog.to_regclass('pg_catalog.pg_dist_schema') is null then
        return false;
    end if;
    perform 'PRAGMA:disable:check';  -- a Citus catalog: not there without Citus
    execute 'select exists (select from pg_catalog.pg_dist_schema s where s.schemaid = $1::regnamespace)'
       into v_distributed using p_schema;
    perform 'PRAGMA:enable:check';
    return v_distributed;
end
$$;
