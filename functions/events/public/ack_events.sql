-- grant: docpal_service
create or replace function docpal.ack_events(consumer text, last_event_id bigint)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_generic_plan
as $$
/* The consumer has the events poll_events handed out up to and including
   last_event_id. Without a context that includes what the same poll (the
   one that handed out that event) handed out of the companies before that
   event's company: a poll goes through companies in number order. Another
   worker's poll of the same consumer is not covered. An id past what was
   handed out is 22023; one already acknowledged, or of a batch already
   closed, changes nothing. */
declare
    v_scope uuid := docpal_private.event_scope(ack_events.consumer);
    v_company docpal_private.company := docpal_private.event_company(ack_events.last_event_id, v_scope);
    v_pos record;
    v_earlier uuid;
    v_pending boolean;
begin
    if v_scope is null then
        -- the consumer's open batches (a partial index), not every company
        for v_earlier in
            select e.company_id from docpal_private.event_consumers e
             where e.consumer = ack_events.consumer
               and e.batch_snap is not null and e.sent > e.acked
               and (select c.number from docpal_private.companies c where c.id = e.company_id) < v_company.number
               and e.polled = (select p.polled from docpal_private.event_consumers p
                                where p.consumer = ack_events.consumer and p.company_id = v_company.id)
               for update skip locked
        loop
            update docpal_private.event_consumers e set acked = e.sent, updated_at = pg_catalog.now()
             where e.consumer = ack_events.consumer and e.company_id = v_earlier;
            perform docpal_private.event_close(ack_events.consumer, v_earlier);
        end loop;
    end if;
    select * into v_pos from docpal_private.event_consumers e
     where e.consumer = ack_events.consumer and e.company_id = v_company.id
       for update;
    if v_pos.batch_snap is null then
        -- no batch handed out: an event not consumed yet was never handed out
        if pg_catalog.to_regclass(pg_catalog.format('%I._events', v_company.schema_name)) is not null then
            execute pg_catalog.format(
                'select case when e.xid is null then e.id > $3 else not pg_catalog.pg_visible_in_snapshot(e.xid, $2) end
                   from %I._events e where e.id = $1', v_company.schema_name)
               into v_pending using ack_events.last_event_id, coalesce(v_pos.done_snap, '1:1:'::pg_snapshot),
                                    coalesce(v_pos.done_id, 0);
        end if;
        if v_pending then
            raise exception using errcode = '22023',
                message = pg_catalog.format('event %s has not been handed out to consumer %s', ack_events.last_event_id,
                                            ack_events.consumer);
        end if;
        return;
    end if;
    if ack_events.last_event_id <= v_pos.acked then
        return;
    end if;
    if ack_events.last_event_id > v_pos.sent then
        raise exception using errcode = '22023',
            message = pg_catalog.format('event %s has not been handed out to consumer %s', ack_events.last_event_id,
                                        ack_events.consumer);
    end if;
    update docpal_private.event_consumers e set acked = ack_events.last_event_id, updated_at = pg_catalog.now()
     where e.consumer = ack_events.consumer and e.company_id = v_company.id;
    perform docpal_private.event_close(ack_events.consumer, v_company.id);
end
$$;
