create or replace function docpal_private.event_batch(
    p_consumer text, p_company uuid, p_schema text, p_max integer, out o_events jsonb, out o_settled boolean)
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set lock_timeout = '100ms'
as $$
/* Up to p_max events of one company for a consumer (o_events, an array),
   from its current batch: after what it acknowledged, in id order.
   o_settled: this call held the consumer's row and it has no batch older
   than this call (none open, or one this call opened): every event whose
   transaction had committed when the call began is then consumed or in a
   batch of this call's snapshot (docpal_private.event_sweep takes the
   company off the consumer's due list).

   Batches follow PgQ. A sequence hands out ids at insert, not at commit,
   so ids alone would lose an event whose transaction commits after a
   higher id was acknowledged. A batch is instead the events whose
   transactions are visible in a snapshot taken when the batch opens
   (batch_snap) and were not in the previous one (done_snap): an event
   committing late falls into a later batch, and an open transaction holds
   back nothing that committed after it began.

   The consumer's row is locked, skipping a row another transaction holds:
   a second worker of the same consumer that polls while the first (in its
   poll-deliver-ack transaction) holds this company gets nothing from it.
   No advisory lock (any login can take a key and hold it): the only waits
   are on rows of private tables, which only docpal's own functions lock,
   and a new position row that another worker of the consumer is making is
   waited for at most lock_timeout (100 ms), then skipped for this poll. */
declare
    v_pos record;
    v_snap pg_snapshot;
    v_first bigint;
    v_last bigint;
    v_events jsonb;
    v_sent bigint;
    v_left boolean;
    v_workflows bigint;
    v_page text;
begin
    o_events := '[]';
    o_settled := false;
    select * into v_pos from docpal_private.event_consumers e
     where e.consumer = p_consumer and e.company_id = p_company
       for update skip locked;
    if v_pos.consumer is null then
        -- held by another worker of the consumer, or being made by one (an
        -- insert would wait for it): nothing from this company now
        if exists (select from docpal_private.event_consumers e where e.consumer = p_consumer and e.company_id = p_company) then
            return;
        end if;
        -- a new consumer starts at the oldest event the outbox keeps
        begin
            insert into docpal_private.event_consumers (consumer, company_id) values (p_consumer, p_company)
                on conflict do nothing
            returning * into v_pos;
        exception when lock_not_available then
            return;  -- another worker is making it: its turn
        end;
        if v_pos.consumer is null then
            return;
        end if;
    end if;
    if v_pos.batch_snap is not null then
        -- what the batch still had to hand out may be gone (retention,
        -- docpal.maintain_events, removed events no active consumer wanted):
        -- then the batch is over, and a new one opens
        -- the lowest id past acked, by the primary key (min over a range is
        -- one index probe; an exists() here was planned as a scan of the
        -- outbox from its start: a drain of n events read n^2/2 rows)
        execute pg_catalog.format('select pg_catalog.min(e.id) <= $2 from %I._events e where e.id > $1', p_schema)
           into v_left using v_pos.acked, v_pos.batch_last;
        v_left := coalesce(v_left, false);
        if not v_left then
            update docpal_private.event_consumers e set acked = e.batch_last
             where e.consumer = p_consumer and e.company_id = p_company;
            perform docpal_private.event_close(p_consumer, p_company);
            select * into v_pos from docpal_private.event_consumers e
             where e.consumer = p_consumer and e.company_id = p_company;
        end if;
    end if;
    if v_pos.batch_snap is null then
        v_snap := docpal_private.event_snapshot();
        -- events with a transaction id by the snapshots; those of a company
        -- that Citus holds (no transaction id, ids from its clock in commit
        -- order: docpal_private.clock_take) after done_id: every one up to
        -- the highest visible has committed
        execute pg_catalog.format(
            'select pg_catalog.min(e.id), pg_catalog.max(e.id) from %I._events e
              where (e.xid >= pg_catalog.pg_snapshot_xmin($1) and e.xid < pg_catalog.pg_snapshot_xmax($2)
                     and pg_catalog.pg_visible_in_snapshot(e.xid, $2) and not pg_catalog.pg_visible_in_snapshot(e.xid, $1))
                 or (e.xid is null and e.id > $3)',
            p_schema) into v_first, v_last using v_pos.done_snap, v_snap, v_pos.done_id;
        if v_first is null then
            o_settled := true;
            return;  -- nothing new: the position is not written
        end if;
        update docpal_private.event_consumers e
           set batch_snap = v_snap, batch_first = v_first, batch_last = v_last,
               acked = v_first - 1, sent = v_first - 1, updated_at = pg_catalog.now()
         where e.consumer = p_consumer and e.company_id = p_company
        returning * into v_pos;
        o_settled := true;
    end if;
    -- the events of the page: after acked, in the batch, at most p_max
    v_page := pg_catalog.format(
        '(select * from %I._events e
           where e.id > $1 and e.id <= $2
             and ((pg_catalog.pg_visible_in_snapshot(e.xid, $3) and not pg_catalog.pg_visible_in_snapshot(e.xid, $4))
                  or (e.xid is null and e.id > $7))
           order by e.id limit $6) e', p_schema);
    -- The page as one conversion of an array of rows (to_jsonb of
    -- array_agg: each row goes straight into the result, where jsonb_agg of
    -- jsonb_build_object made and took apart one jsonb value per event);
    -- the keys are those of the notification payload. Events with a
    -- workflow have one key more: a page with any takes the query below.
    execute pg_catalog.format(
        'select case when pg_catalog.count(e.workflow) = 0
                     then pg_catalog.to_jsonb(pg_catalog.array_agg(p order by e.id)) end,
                pg_catalog.max(e.id), pg_catalog.count(e.workflow)
           from %s
          cross join lateral (select e.id as event_id, $5 as company_id, e."table", e.record_id, e.action,
                                     e.version, e.changed, e.user_id, e.at) p',
        v_page) into v_events, v_sent, v_workflows
      using v_pos.acked, v_pos.batch_last, v_pos.batch_snap, v_pos.done_snap, p_company, p_max, v_pos.done_id;
    if v_workflows > 0 then
        execute pg_catalog.format(
            'select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        ''event_id'', e.id, ''company_id'', $5, ''table'', e."table", ''record_id'', e.record_id,
                        ''action'', e.action, ''version'', e.version, ''changed'', e.changed, ''user_id'', e.user_id,
                        ''at'', e.at)
                      || case when e.workflow is null then ''{}''::jsonb
                              else pg_catalog.jsonb_build_object(''workflow'', e.workflow) end
                      order by e.id),
                    pg_catalog.max(e.id)
               from %s',
            v_page) into v_events, v_sent
          using v_pos.acked, v_pos.batch_last, v_pos.batch_snap, v_pos.done_snap, p_company, p_max, v_pos.done_id;
    end if;
    if v_sent is not null then
        -- which poll handed them out: ack_events without a context acknowledges that poll's companies
        update docpal_private.event_consumers e
           set sent = greatest(e.sent, v_sent), polled = pg_catalog.pg_current_xact_id(), updated_at = pg_catalog.now()
         where e.consumer = p_consumer and e.company_id = p_company;
    end if;
    o_events := coalesce(v_events, '[]');
end
$$;
