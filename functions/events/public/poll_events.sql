-- grant: docpal_service
create or replace function docpal.poll_events(consumer text, max integer default 100)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Up to max events (an array of notification payloads, plus "workflow"
   where a rule matched) after the consumer's last acknowledgement: of the
   company in context, or without a context of every company, company by
   company in the order of their numbers, so that event ids ascend through
   the array. The same events come again until acknowledged (at least
   once). For a batch that no other worker of the same consumer can take,
   poll and ack in one transaction (docpal listen does). */
declare
    v_scope uuid := docpal_private.event_scope(poll_events.consumer);
    v_events jsonb := '[]';
    v_batch jsonb;
    v_company uuid;
    v_schema text;
begin
    if poll_events.max is null or poll_events.max < 1 or poll_events.max > 10000 then
        raise exception using errcode = '22023', message = 'max must be between 1 and 10000';
    end if;
    for v_company, v_schema in
        select c.id, c.schema_name from docpal_private.companies c
         where v_scope is null or c.id = v_scope
         order by c.number
    loop
        continue when pg_catalog.to_regclass(pg_catalog.format('%I._events', v_schema)) is null;
        v_batch := docpal_private.event_batch(poll_events.consumer, v_company, v_schema,
                                              poll_events.max - pg_catalog.jsonb_array_length(v_events));
        v_events := v_events || v_batch;
        exit when pg_catalog.jsonb_array_length(v_events) >= poll_events.max;
    end loop;
    return v_events;
end
$$;
