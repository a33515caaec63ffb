create or replace function docpal_private.clock_take(p_schema text, p_entries bigint, p_events bigint, p_number bigint,
                                                      out audit_base bigint, out event_base bigint)
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Hands out p_entries audit entry ids and p_events event ids from the
   company's clock (its _clock row; sql/tenant/0008_clock.sql): the ids
   are audit_base + 1 .. audit_base + p_entries and event_base + 1 ..
   event_base + p_events. For the writes of a company that Citus holds,
   where a sequence or a transaction id cannot order them (contract
   section 10): the row stays locked until the writer's transaction ends,
   so ids follow commit order and a rolled-back writer gives its ids back.
   Writers of one distributed company therefore commit one after another.
   The first use starts after the highest id the company has (a company
   distributed later keeps its earlier entries and events); event ids stay
   in the company's range from p_number * 2^32 (docpal_private.event_ids;
   the caller knows the company's number: on a worker the companies table
   is not there). Runs on the coordinator and, in a capture trigger, on
   the worker: every statement names the company's tables only. */
begin
    execute pg_catalog.format('select c.audit_id, c.event_id from %I._clock c for update', p_schema)
       into audit_base, event_base;
    if audit_base = 0 and p_entries > 0 then
        -- past every id the log had, those rolled back or removed by retention
        -- included, as far as the sealer's runs recorded them (it scans only
        -- above its settled mark)
        execute pg_catalog.format(
            'select greatest((select coalesce(pg_catalog.max(l.id), 0) from %1$I._audit_log l),
                             (select coalesce(pg_catalog.max(greatest(s.entry_id, s.id_mark, s.settled)), 0)
                                from %1$I._audit_seals s))', p_schema)
           into audit_base;
    end if;
    if event_base = 0 and p_events > 0 then
        -- past every id the outbox had, expired ones included (event_floor)
        execute pg_catalog.format(
            'select greatest((select pg_catalog.max(e.id) from %1$I._events e), c.event_floor, $1)
               from %1$I._clock c', p_schema)
           into event_base using p_number * 4294967296;  -- 2^32: the company's range
    end if;
    execute pg_catalog.format('update %I._clock set audit_id = $1, event_id = $2', p_schema)
      using audit_base + p_entries, event_base + p_events;
end
$$;
