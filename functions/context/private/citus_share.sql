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
   without the citus extension (one catalog lookup). */
declare
    v_context text := pg_catalog.current_setting('docpal.context', true);
    v_propagate text;
begin
    -- the extension, not a setting (a client can make any setting exist)
    if not exists (select from pg_catalog.pg_extension e where e.extname = 'citus') then
        return;
    end if;
    v_propagate := pg_catalog.current_setting('citus.propagate_set_commands');
    perform pg_catalog.set_config('citus.propagate_set_commands', 'local', true);
    execute pg_catalog.format('set local lock_timeout = %L',
                              coalesce(docpal_private.platform_setting('lock_timeout'), '2s'));
    if v_context is not null then
        execute pg_catalog.format('set local docpal.context = %L', v_context);
    end if;
    -- what was sent stays sent (Citus replays it on every worker connection of
    -- the transaction); the caller's own SETs are not propagated because of us
    perform pg_catalog.set_config('citus.propagate_set_commands', v_propagate, true);
end
$$;
