create or replace function docpal_private.event_cursor_read(
    p_cursor text, out o_done_id bigint, out o_done pg_snapshot, out o_batch pg_snapshot, out o_last bigint,
    out o_after bigint)
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* A docpal.read_events cursor read back (docpal_private.event_cursor wrote
   it): the done point (o_done_id: the events without a transaction id up to
   it; o_done: the snapshot whose transactions are read) and, inside a
   batch, its snapshot, last id and the id read up to (o_after). A bare
   event id n (a client's own Last-Event-ID) reads as "the events after id
   n": a done point that covers no transaction, and o_after = n. All null
   for a null cursor. 54000 past 16,000 characters, 22023 when malformed;
   the message never repeats the cursor. */
declare
    v_snap constant text := '([0-9]{1,19}):([0-9]{1,19}):((?:[0-9]{1,19})(?:,[0-9]{1,19})*)?';
    v_parts text[];
    v_snaps pg_snapshot[] := '{}';
    v_i integer;
begin
    if p_cursor is null then
        return;
    end if;
    if pg_catalog.length(p_cursor) > 16000 then
        raise exception using errcode = '54000', message = 'the event cursor is longer than 16000 characters';
    end if;
    if p_cursor ~ '^[0-9]{1,16}$' then
        o_done_id := p_cursor::bigint;
        o_done := '1:1:'::pg_snapshot;  -- no transaction is read
        o_after := o_done_id;
        return;
    end if;
    v_parts := pg_catalog.regexp_match(p_cursor, pg_catalog.format('^v1\.([0-9]{1,16})\.%s(?:\.%s\.([0-9]{1,16})\.([0-9]{1,16}))?$', v_snap, v_snap));
    if v_parts is null then
        raise exception using errcode = '22023', message = 'the event cursor is not valid',
            hint = 'Send back a cursor (an SSE id) that docpal gave, an event id, or none to start from now.';
    end if;
    begin
        foreach v_i in array array[2, 5] loop
            continue when v_parts[v_i] is null;
            v_snaps := v_snaps || pg_catalog.format('%s:%s:%s', v_parts[v_i],
                v_parts[v_i]::bigint + v_parts[v_i + 1]::bigint,
                coalesce((select pg_catalog.string_agg((v_parts[v_i]::bigint + d::bigint)::text, ',' order by o)
                            from pg_catalog.unnest(pg_catalog.string_to_array(v_parts[v_i + 2], ',')) with ordinality u(d, o)),
                         ''))::pg_snapshot;
        end loop;
    exception when data_exception then
        raise exception using errcode = '22023', message = 'the event cursor is not valid',
            hint = 'Send back a cursor (an SSE id) that docpal gave, an event id, or none to start from now.';
    end;
    o_done_id := v_parts[1]::bigint;
    o_done := v_snaps[1];
    o_batch := v_snaps[2];
    o_last := v_parts[8]::bigint;
    o_after := v_parts[9]::bigint;
    if o_batch is not null and o_after > o_last then
        raise exception using errcode = '22023', message = 'the event cursor is not valid',
            hint = 'Send back a cursor (an SSE id) that docpal gave, an event id, or none to start from now.';
    end if;
end
$$;
