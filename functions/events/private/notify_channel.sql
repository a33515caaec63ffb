create or replace function docpal_private.notify_channel(p_company uuid)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The channel a capture notifies for company p_company, or null when no
   notification is to be sent now (the queue is too full, or the company has
   no channel yet). See docpal_private.notify_target, which captures call
   directly. The name comes from a private table at run time: it is never
   written into a function body, default or setting that other logins could
   read. */
begin
    return (docpal_private.notify_target(p_company)).channel;
end
$$;
