create or replace function docpal_private.notify_target(
    p_company uuid, out allowed boolean, out channel text, out single_limit bigint)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Everything a capture needs to notify, in one query of three index
   lookups (docpal_private.notify_target_sql, which the capture functions
   have written into their bodies: they pay it once per statement):
   - allowed: whether docpal sends notifications now, only while the
     cluster's notification queue is below the platform setting
     notify_threshold (a fraction, default 0.5). The queue is shared by every
     database of the cluster and a listener idle in a transaction pins it;
     once it is full, every NOTIFY fails at commit and takes the writer's
     transaction with it. Skipping early keeps writes independent of it: the
     outbox holds every event and consumers catch up from there. A threshold
     of 0 turns notifications off.
   - channel: company p_company's channel while allowed, else null (also
     when the company has no channel yet). Its name comes from a private
     table at run time: it is never written into a function body, default or
     setting that other logins could read.
   - single_limit: how many events one statement notifies one by one
     (platform setting notify_limit, default 100); a statement with more
     sends one summary {company_id, first_event_id, last_event_id, count}.
   The settings are read from docpal_private.platform_settings only; no
   session setting changes them. */
begin
    -- the query the capture functions have written in (docpal_private.notify_target_sql)
    execute docpal_private.notify_target_sql(p_company) into allowed, channel, single_limit;
end
$$;
