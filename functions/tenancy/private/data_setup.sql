create or replace function docpal_private.data_setup(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The objects a company needs once it has a table, made on its first one:
   tenant module "data" (sql/tenant/data/: the audit log's partitions, the
   outbox _events and its id range, the notification channel). Every CREATE
   TABLE costs milliseconds of file creation, so a company without tables
   has none of them. */
begin
    perform docpal_private.tenant_module(p_schema, 'data');
end
$$;
