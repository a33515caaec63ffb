create or replace function docpal_private.audit_setup(p_schema regnamespace)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Tenant step 0004: the monthly partitions of the audit log and the capture
   triggers of the tables a company already has. */
declare
    v_schema text := (select n.nspname from pg_catalog.pg_namespace n where n.oid = p_schema);
    v_spec jsonb;
begin
    perform docpal_private.audit_partitions(v_schema);
    for v_spec in execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = ''table''', v_schema) loop
        perform docpal_private.audit_triggers(v_schema, v_spec);
    end loop;
end
$$;
