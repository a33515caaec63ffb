create or replace function docpal_private.citus_set_local(p_name text, p_value text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* SET LOCAL p_name = p_value here and on every Citus worker this
   transaction reaches, for the triggers that run there (contract section
   10). Citus sends on SET LOCAL statements only (not set_config), and only
   while citus.propagate_set_commands is 'local'; it is put back after, so
   the caller's own SETs are not sent on because of docpal (what was sent
   stays: Citus replays it on every worker connection of the transaction).
   p_name is one of docpal's own settings, never a caller's word. Callers
   check docpal_private.citus_installed first. */
declare
    v_propagate text := pg_catalog.current_setting('citus.propagate_set_commands');
begin
    perform pg_catalog.set_config('citus.propagate_set_commands', 'local', true);
    if pg_catalog.strpos(p_name, '.') > 0 then
        -- a dotted name (docpal.context): each part quoted on its own
        execute pg_catalog.format('set local %I.%I = %L', pg_catalog.split_part(p_name, '.', 1),
                                  pg_catalog.split_part(p_name, '.', 2), p_value);
    else
        execute pg_catalog.format('set local %I = %L', p_name, p_value);
    end if;
    perform pg_catalog.set_config('citus.propagate_set_commands', v_propagate, true);
end
$$;
