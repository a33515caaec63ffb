create or replace function docpal_private.citus_ddl()
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Before docpal changes the tables of a company that may be distributed:
   with Citus installed, allow triggers on distributed tables for the rest
   of the transaction (citus.enable_unsafe_triggers). docpal's triggers
   write only into their own company schema, which is the condition Citus
   sets for them (docs/scale-out.md); the setting is checked only when a
   trigger is made or a table with triggers distributed, so no DBA setting
   is needed. Nothing without Citus. */
begin
    if docpal_private.citus_installed() then
        perform pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    end if;
end
$$;
