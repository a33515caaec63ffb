create or replace function docpal_private.notify_allowed()
    returns boolean
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether docpal sends notifications now: only while the cluster's
   notification queue is below the platform setting notify_threshold
   (a fraction, default 0.5). The queue is shared by every database of the
   cluster and a listener idle in a transaction pins it; once it is full,
   every NOTIFY fails at commit and takes the writer's transaction with it.
   Skipping early keeps writes independent of it: the outbox holds every
   event and consumers catch up from there. A threshold of 0 turns
   notifications off. */
declare
    v_setting text := (select s.value from docpal_private.platform_settings s where s.name = 'notify_threshold');
begin
    return pg_catalog.pg_notification_queue_usage()
           < case when v_setting ~ '^[0-9]{1,3}(\.[0-9]{1,9})?$' then v_setting::double precision else 0.5 end;
end
$$;
