create or replace function docpal_private.notify_limit()
    returns bigint
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* How many events one statement notifies one by one (platform setting
   notify_limit, default 100); a statement with more sends one summary
   {company_id, first_event_id, last_event_id, count}. A platform setting,
   not a session one: a client that could raise it would turn one bulk
   statement into thousands of notifications in the shared queue. See
   docpal_private.notify_target, which captures call directly. */
begin
    return (docpal_private.notify_target(null)).single_limit;
end
$$;
