create or replace function docpal_private.audit_setup(p_schema regnamespace)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Every capture function and trigger of a company made afresh: how
   upgrade_tenants regenerates generator audit_triggers where its
   fingerprint changed (sql/install/generators.sql), and tenant steps 0004
   and 0005. A company that has tables also gets tenant module "data"
   (docpal_private.data_setup: audit partitions, outbox). A company without
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
