-- grant: docpal_service
create or replace function docpal.replay_events(consumer text, from_event_id bigint)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Moves the consumer back (or forward) in the company of from_event_id so
   that its next poll starts with that event: a batch of every committed
   event of the company from that id on (the outbox keeps every event of
   the company's retention period, settings.event_retention, and what an
   active consumer has not consumed; older events are gone), then on as usual.
   Events before from_event_id that it had not consumed are skipped. */
declare
    v_scope uuid := docpal_private.event_scope(replay_events.consumer);
    v_company docpal_private.company := docpal_private.event_company(replay_events.from_event_id, v_scope);
    v_snap pg_snapshot := docpal_private.event_snapshot();
    v_first bigint;
    v_last bigint;
    v_clock bigint;
begin
    insert into docpal_private.event_consumers (consumer, company_id) values (replay_events.consumer, v_company.id)
        on conflict do nothing;
    perform from docpal_private.event_consumers e
      where e.consumer = replay_events.consumer and e.company_id = v_company.id for update;
    -- a poll without a context visits the company again (docpal_private.event_sweep)
    update docpal_private.event_sweeps s
       set due = array(select distinct d from pg_catalog.unnest(s.due || v_company.number) d order by d)
     where s.consumer = replay_events.consumer and v_company.number <> all (s.due);
    if pg_catalog.to_regclass(pg_catalog.format('%I._events', v_company.schema_name)) is not null then
        execute pg_catalog.format(
            'select pg_catalog.min(e.id), pg_catalog.max(e.id) from %I._events e
              where e.id >= $1 and (pg_catalog.pg_visible_in_snapshot(e.xid, $2) or e.xid is null)',
            v_company.schema_name)
           into v_first, v_last using replay_events.from_event_id, v_snap;
        -- events without a transaction id (a company that Citus holds) are
        -- all committed up to the highest visible one
        execute pg_catalog.format('select pg_catalog.max(e.id) from %I._events e where e.xid is null',
                                  v_company.schema_name)
           into v_clock;
    end if;
    if v_first is null then
        -- nothing from there on has committed: carry on after this snapshot
        update docpal_private.event_consumers e
           set done_snap = v_snap, done_id = coalesce(v_clock, 0), batch_snap = null, batch_first = null,
               batch_last = null, acked = 0, sent = 0,
               updated_at = pg_catalog.now()
         where e.consumer = replay_events.consumer and e.company_id = v_company.id;
    else
        -- a batch over everything committed, from v_first on; done_snap '1:1:' sees no transaction
        update docpal_private.event_consumers e
           set done_snap = '1:1:', done_id = 0, batch_snap = v_snap, batch_first = v_first, batch_last = v_last,
               acked = v_first - 1, sent = v_first - 1, updated_at = pg_catalog.now()
         where e.consumer = replay_events.consumer and e.company_id = v_company.id;
    end if;
end
$$;
