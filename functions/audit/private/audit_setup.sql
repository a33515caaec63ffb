create or replace function docpal_private.audit_setup(p_schema regnamespace)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Tenant steps 0004 and 0005: a company that has tables gets the objects
   of a company with data (docpal_private.data_setup: audit partitions,
   outbox) and its tables' capture triggers made afresh. A company without
   tables (every new one) gets nothing here: its first create_table makes
   them, which keeps create_company cheap. */
declare
    v_schema text := (select n.nspname from pg_catalog.pg_namespace n where n.oid = p_schema);
    v_spec jsonb;
begin
    for v_spec in execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = ''table''', v_schema) loop
        perform docpal_private.audit_triggers(v_schema, v_spec);
    end loop;
end
$$;
