create or replace function docpal_private.citus_share()
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* With Citus loaded: makes this transaction's docpal.context and lock
   timeout reach the workers too (contract section 10), for the triggers
   that run there: capture and version stamping name the user from the
   context, and a wait for a company's clock row on a worker is bounded like
   any other docpal wait (55P03). Citus sends on SET LOCAL statements only
   (not set_config), and only while citus.propagate_set_commands is
   'local'. Called by the functions that write a company's records; nothing
   without Citus (one setting lookup). */
declare
    v_context text := pg_catalog.current_setting('docpal.context', true);
begin
    if pg_catalog.current_setting('citus.propagate_set_commands', true) is null then
        return;
    end if;
    perform pg_catalog.set_config('citus.propagate_set_commands', 'local', true);
    execute pg_catalog.format('set local lock_timeout = %L',
                              coalesce(docpal_private.platform_setting('lock_timeout'), '2s'));
    if v_context is not null then
        execute pg_catalog.format('set local docpal.context = %L', v_context);
    end if;
end
$$;
