create or replace function docpal_private.event_sweep(
    p_consumer text, out o_due bigint[], out o_full_from bigint, out o_held boolean)
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set lock_timeout = '100ms'
as $$
/* Which companies a poll without a context visits for consumer p_consumer
   (docpal.poll_events), besides those where it has a batch open: o_due,
   company numbers, and every company from number o_full_from on while the
   consumer goes once through all of them (null otherwise). o_held: this
   call holds the consumer's sweep row (docpal_private.event_sweeps), so the
   poll may record what it visited.

   Writers record each (transaction, company) in docpal_private.event_hints;
   this reads them as consumers read the outbox (DESIGN-NOTES 6): the hints
   of the transactions visible in a snapshot taken now and not in the
   previous one (swept) add their companies to the due list, and the
   snapshot becomes swept. A transaction that commits late is not visible
   in either: its hint comes in a later sweep, whatever ids it holds.

   A consumer without a sweep row gets one that starts a pass through every
   company (full_from 0). What that first transaction visits is not
   recorded: until its row is committed, other consumers' sweeps cannot see
   it and may delete hints it will need, so the pass begins again with the
   next poll (and with it, every company is visited after the row is
   there). The same holds whenever the row was written by the caller's own
   transaction. A second worker of the consumer (the row is locked: skipped,
   never waited for) visits what was due and records nothing.

   With the row held and new hints read, hints that every consumer with a
   sweep row has read (and no transaction still running could need) are
   deleted, at most 10,000 a call, rows another poll is deleting skipped.

   Not visible in swept means at or past its xmax, or in its list of
   running transactions: both index lookups. Never "from its xmin on": a
   long transaction holds every snapshot's xmin back, and each poll would
   read every hint written since it began. */
declare
    v_sweep record;
    v_snap pg_snapshot;
    v_new bigint[];
begin
    o_held := false;
    -- most polls have nothing to record (no new hint, nothing due, no pass):
    -- then no row lock (a lock is a write)
    -- Two index probes, whatever the number of hints kept (another
    -- consumer's sweep row may hold a day of them): the highest hint (a hint
    -- at or past swept's xmax is new), and the transactions swept saw
    -- running (new once they commit). One anti-join with an OR read every hint.
    select s.due, s.full_from into o_due, o_full_from
      from docpal_private.event_sweeps s
     where s.consumer = p_consumer and s.due = '{}' and s.full_from is null
       and s.updated_at > pg_catalog.now() - interval '1 hour'
       and coalesce((select pg_catalog.max(h.xid) from docpal_private.event_hints h)
                    < pg_catalog.pg_snapshot_xmax(s.swept), true)
       and not exists (select from docpal_private.event_hints h
                        where h.xid = any (array(select pg_catalog.pg_snapshot_xip(s.swept))));
    if found then
        return;
    end if;
    select s.consumer, s.swept, s.due, s.full_from, s.updated_at,
           s.xmin = pg_catalog.xid(pg_catalog.pg_current_xact_id_if_assigned()) as mine
      into v_sweep
      from docpal_private.event_sweeps s where s.consumer = p_consumer
       for update skip locked;
    if v_sweep.consumer is not null then
        o_held := v_sweep.mine is not true;
    else
        select s.consumer, s.swept, s.due, s.full_from, s.updated_at into v_sweep
          from docpal_private.event_sweeps s where s.consumer = p_consumer;
        if v_sweep.consumer is null then
            -- new to polling without a context: a pass through every company
            begin
                insert into docpal_private.event_sweeps (consumer, swept)
                values (p_consumer, docpal_private.event_snapshot())
                on conflict do nothing;
            exception when lock_not_available then
                null;  -- another worker is making it
            end;
            o_due := '{}';
            o_full_from := 0;
            return;
        end if;
    end if;
    v_snap := docpal_private.event_snapshot();
    -- the companies by their index (= any of an array), however many there are
    select pg_catalog.array_agg(c.number order by c.number) into v_new
      from docpal_private.companies c
     where c.schema_name = any (array(
               select distinct h.company_schema from docpal_private.event_hints h
                where (h.xid >= pg_catalog.pg_snapshot_xmax(v_sweep.swept)
                       or h.xid = any (array(select pg_catalog.pg_snapshot_xip(v_sweep.swept))))
                  and h.xid < pg_catalog.pg_snapshot_xmax(v_snap)
                  and pg_catalog.pg_visible_in_snapshot(h.xid, v_snap)
                  and not pg_catalog.pg_visible_in_snapshot(h.xid, v_sweep.swept)));
    o_due := case when v_new is null then v_sweep.due
                  else array(select distinct d from pg_catalog.unnest(v_sweep.due || v_new) d order by d) end;
    o_full_from := v_sweep.full_from;
    if not o_held or (v_new is null and v_sweep.updated_at > pg_catalog.now() - interval '1 hour') then
        return;  -- nothing new (updated_at shows a live consumer at least hourly)
    end if;
    update docpal_private.event_sweeps s set swept = v_snap, due = o_due, updated_at = pg_catalog.now()
     where s.consumer = p_consumer;
    perform docpal_private.event_hints_trim(10000);
end
$$;
