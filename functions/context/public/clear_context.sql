-- grant: docpal_service, docpal_app
create or replace function docpal.clear_context()
    returns void
    language sql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
    /* Ends the context, whether it was set for the session or the transaction. */
    select pg_catalog.set_config('docpal.context', '', false);
$$;
