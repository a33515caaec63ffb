create or replace function docpal_private.notify_channel(p_company uuid)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The channel a capture notifies for company p_company, or null when no
   notification is to be sent now (the queue is too full,
   docpal_private.notify_allowed, or the company has no channel yet). Its
   name comes from a private table at run time: it is never written into a
   function body, default or setting that other logins could read. */
begin
    if not docpal_private.notify_allowed() then
        return null;
    end if;
    return (select c.channel from docpal_private.event_channels c where c.company_id = p_company);
end
$$;
