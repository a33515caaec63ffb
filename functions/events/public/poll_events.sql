-- grant: docpal_service
create or replace function docpal.poll_events(consumer text, max integer default 100)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
    set plan_cache_mode = force_generic_plan
as $$
/* Up to max events (an array of notification payloads, plus "workflow"
   where a rule matched) after the consumer's last acknowledgement: of the
   company in context, or without a context of every company, company by
   company in the order of their numbers, so that event ids ascend through
   the array. The same events come again until acknowledged (at least
   once). For a batch that no other worker of the same consumer can take,
   poll and ack in one transaction (docpal listen does).

   Without a context a poll visits only the companies that may have events
   for the consumer (docpal_private.event_sweep): those whose writers left
   a hint since its last sweep or that it has not finished with (due), those
   where it has a batch open, and the companies Citus holds; plus, once per
   consumer, every company. A visit that finds nothing new (or opens a
   batch) takes the company off the due list. A visit that only the pass
   makes and that finds nothing gives back its locks (a subtransaction
   rolled back); after docpal_private.event_pass_limit() visits that found
   events the poll ends and the next goes on, so [] still means nothing is
   pending. So a poll costs what the
   companies with something new cost, however many companies there are.
   Its statements (and those of the functions it calls) keep generic plans
   (plan_cache_mode, pinned here): with custom plans, the planner's
   estimates over thousands of companies made it plan them again at every
   poll, the dearest part of a poll with nothing new. */
declare
    v_scope uuid := docpal_private.event_scope(poll_events.consumer);
    v_events jsonb := '[]';
    v_count integer := 0;
    v_visit record;
    v_sweep record;
    v_company uuid;
    v_schema text;
    v_number bigint;
    v_distributed text[] := '{}';
    v_visited bigint[] := '{}';
    v_settled bigint[] := '{}';
    v_stopped boolean := false;
    v_due bigint[];
    v_full_from bigint;
    v_resume bigint;
    v_held integer := 0;             -- visits that found events (and keep their locks)
    v_pass_limit integer := docpal_private.event_pass_limit();
    v_candidates refcursor;
begin
    if poll_events.max is null or poll_events.max < 1 or poll_events.max > 10000 then
        raise exception using errcode = '22023', message = 'max must be between 1 and 10000';
    end if;
    if v_scope is not null then
        select c.schema_name into v_schema from docpal_private.companies c where c.id = v_scope;
        if pg_catalog.to_regclass(pg_catalog.format('%I._events', v_schema)) is null then
            return v_events;
        end if;
        return (docpal_private.event_batch(poll_events.consumer, v_scope, v_schema, poll_events.max)).o_events;
    end if;
    select * into v_sweep from docpal_private.event_sweep(poll_events.consumer);
    if pg_catalog.to_regclass('pg_catalog.pg_dist_schema') is not null then
        -- the companies Citus holds: their events carry no transaction id, hence no hint
        perform 'PRAGMA:disable:check';  -- a Citus catalog: not there without Citus
        execute 'select coalesce(pg_catalog.array_agg(s.schemaid::regnamespace::text), ''{}'') from pg_catalog.pg_dist_schema s'
           into v_distributed;
        perform 'PRAGMA:enable:check';
    end if;
    -- each part an index lookup, never a scan of every company: the pass
    -- (every company from a number on) only while there is one
    if v_sweep.o_full_from is null then
        open v_candidates for
            select c.id, c.schema_name, c.number from docpal_private.companies c
             where c.number = any (v_sweep.o_due)
            union
            select c.id, c.schema_name, c.number from docpal_private.event_consumers e
              join docpal_private.companies c on c.id = e.company_id
             where e.consumer = poll_events.consumer and e.batch_snap is not null
            union
            select c.id, c.schema_name, c.number from docpal_private.companies c
             where c.schema_name = any (v_distributed)
             order by 3;
    else
        open v_candidates for
            select c.id, c.schema_name, c.number from docpal_private.companies c
             where c.number >= v_sweep.o_full_from or c.number = any (v_sweep.o_due)
            union
            select c.id, c.schema_name, c.number from docpal_private.event_consumers e
              join docpal_private.companies c on c.id = e.company_id
             where e.consumer = poll_events.consumer and e.batch_snap is not null
            union
            select c.id, c.schema_name, c.number from docpal_private.companies c
             where c.schema_name = any (v_distributed)
             order by 3;
    end if;
    loop
        fetch v_candidates into v_company, v_schema, v_number;
        exit when not found;
        if v_held >= v_pass_limit then
            -- as many visits that found events as one poll makes (each holds
            -- its locks; their events are this poll's answer, so it is not
            -- empty): the next goes on here
            v_stopped := true;
            v_resume := v_number;
            exit;
        end if;
        if v_number >= v_sweep.o_full_from then
            v_visited := v_visited || v_number;  -- the pass: due until settled
        end if;
        if pg_catalog.to_regclass(pg_catalog.format('%I._events', v_schema)) is null then
            v_settled := v_settled || v_number;  -- no outbox: its first events leave a hint
            continue;
        end if;
        if v_number >= v_sweep.o_full_from and v_number <> all (v_sweep.o_due)
           and not exists (select from docpal_private.event_consumers e
                            where e.consumer = poll_events.consumer and e.company_id = v_company
                              and e.batch_snap is not null) then
            -- a visit only the pass makes, no batch open: mostly an outbox with
            -- nothing new. Such a visit writes nothing worth keeping (at most a
            -- new consumer's position, made again when the company has events),
            -- and its subtransaction, rolled back, takes the locks on the outbox
            -- with it: a pass through 10,000 empty outboxes would otherwise hold
            -- some 30,000 locks to the end of the poll, past a default server's
            -- lock table. Only these: a subtransaction that writes (opens a
            -- batch) takes a subtransaction id, and past 64 in one transaction
            -- every snapshot taken meanwhile overflows its cache of them.
            begin
                select * into v_visit
                  from docpal_private.event_batch(poll_events.consumer, v_company, v_schema, poll_events.max - v_count);
                if pg_catalog.jsonb_array_length(v_visit.o_events) = 0 then
                    raise exception using errcode = 'DP001', message = 'docpal: nothing in this outbox';
                end if;
            exception when sqlstate 'DP001' then
                null;  -- v_visit keeps what the visit found: variables are not rolled back
            end;
        else
            -- due from a hint, or a batch open (the visit may close it: a write to keep)
            select * into v_visit
              from docpal_private.event_batch(poll_events.consumer, v_company, v_schema, poll_events.max - v_count);
        end if;
        if v_visit.o_settled then
            v_settled := v_settled || v_number;
        end if;
        if pg_catalog.jsonb_array_length(v_visit.o_events) > 0 then
            v_held := v_held + 1;
            v_events := case when v_count = 0 then v_visit.o_events else v_events || v_visit.o_events end;
            v_count := pg_catalog.jsonb_array_length(v_events);
            if v_count >= poll_events.max then
                v_stopped := true;
                v_resume := v_number + 1;
                exit;
            end if;
        end if;
    end loop;
    close v_candidates;
    if v_sweep.o_held and (v_sweep.o_full_from is not null or v_sweep.o_due && v_settled) then
        -- what is still due: what was, and what the pass visited, less what is settled
        v_due := array(select c.number from docpal_private.companies c
                        where c.number = any (v_sweep.o_due || v_visited) and c.number <> all (v_settled)
                        order by c.number);
        v_full_from := case when v_sweep.o_full_from is null or not v_stopped then null
                            else greatest(v_sweep.o_full_from, v_resume) end;
        if v_due is distinct from v_sweep.o_due or v_full_from is distinct from v_sweep.o_full_from then
            update docpal_private.event_sweeps s set due = v_due, full_from = v_full_from, updated_at = pg_catalog.now()
             where s.consumer = poll_events.consumer;
        end if;
    end if;
    return v_events;
end
$$;
