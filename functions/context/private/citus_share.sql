create or replace function docpal_private.citus_share()
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* With Citus loaded: makes this transaction's docpal.context and lock
   timeout reach the workers too (contract section 10), for the triggers
   that run there: capture and version stamping name the user from the
   context, and a wait for a company's clock row on a worker is bounded like
   any other docpal wait (55P03); docpal_private.citus_set_local sends
   them. Called by the functions that write a company's records; nothing
   without the citus extension (one catalog lookup). */
declare
    v_context text := pg_catalog.current_setting('docpal.context', true);
begin
    if not docpal_private.citus_installed() then
        return;
    end if;
    perform docpal_private.citus_set_local('lock_timeout', coalesce(docpal_private.platform_setting('lock_timeout'), '2s'));
    if v_context is not null then
        perform docpal_private.citus_set_local('docpal.context', v_context);
    end if;
end
$$;
