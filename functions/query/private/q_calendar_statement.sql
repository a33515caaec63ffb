create or replace function docpal_private.q_calendar_statement(
    p_caller jsonb, p_slug text, p_spec jsonb, out o_sql text, out o_params jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The statement docpal.query_calendar runs for the spec (o_sql, $1 = o_params), for the
   caller p_caller (docpal_private.require_company() as jsonb, looked up once
   by the public function): everything query_calendar does but running it.
   The records whose [start, end] overlaps [from, to] (without end: whose
   start is in [from, to]), ordered by start, then id. The condition bounds
   start on both sides where it can, so that an index on start serves it as
   one range: start <= to (a day as to on a datetime start: the whole day),
   and start >= from (no end) or start >= from -
   max_days (the caller's promise that no event lasts longer); with an end
   and no max_days only start <= to is a range, and the end is a filter.
   22023 for a malformed spec, 22007/22008 for from or to that is not an ISO
   date or datetime. */
declare
    v_spec jsonb := docpal_private.q_check_spec(p_spec);
    v_state jsonb;
    v_key text;
    v_sql text;
    v_kind text;
    v_parts jsonb := '{}';     -- key -> SQL of the path
    v_kinds jsonb := '{}';     -- start/end -> date or datetime
    v_joined boolean;
    v_from text;
    v_to text;
    v_days text;
    v_type text;
    v_end_type text;
    v_tz text;
    v_at timestamptz;
    v_from_at timestamptz;
    v_cond text;
    v_r record;
begin
    perform docpal_private.q_reject_keys(v_spec, array['columns', 'sort', 'offset', 'count'], 'query_calendar');
    -- a calendar shows what falls in its range: up to 1000 events unless told fewer
    v_state := docpal_private.q_compile(p_caller, p_slug,
        pg_catalog.jsonb_build_object('limit', 1000) || v_spec - 'start' - 'end' - 'from' - 'to' - 'label' - 'color' - 'max_days');
    v_joined := false;
    foreach v_key in array array['start', 'end', 'label', 'color'] loop
        if v_key in ('end', 'color') and not v_spec ? v_key then
            v_parts := v_parts || pg_catalog.jsonb_build_object(v_key, 'null');
            continue;
        end if;
        if pg_catalog.jsonb_typeof(v_spec->v_key) is distinct from 'string' then
            raise exception using errcode = '22023', message = pg_catalog.format('query_calendar needs %s: a path', v_key);
        end if;
        v_r := docpal_private.q_path(v_state, v_spec->>v_key, v_key in ('start', 'end'));
        v_state := v_r.p_state;
        v_joined := v_joined or coalesce((v_state->>'joined')::boolean, false);
        if v_key in ('start', 'end') then
            if v_r.o_kind not in ('date', 'datetime') then
                raise exception using errcode = '22023', message = pg_catalog.format('%s must be a date or datetime column', v_key);
            end if;
            v_kinds := v_kinds || pg_catalog.jsonb_build_object(v_key, v_r.o_kind);
        end if;
        v_parts := v_parts || pg_catalog.jsonb_build_object(v_key, v_r.o_sql);
    end loop;

    -- the visible range: ISO dates or datetimes (22007; an impossible one
    -- 22008, as PostgreSQL says), worked out here: on a datetime start, a
    -- bound that names no zone (a day, or a time without Z or an offset) is
    -- the company's local time (settings.time_zone), never the session's;
    -- bound as UTC text, and read once per statement (q_cast_sql), not cast
    -- again per row
    v_type := case v_kinds->>'start' when 'date' then 'date' else 'timestamp with time zone' end;
    v_end_type := case when v_kinds->>'start' = 'date' and coalesce(v_kinds->>'end', 'date') = 'date'
                       then 'date' else 'timestamp with time zone' end;
    v_tz := docpal_private.company_time_zone(v_state->>'schema');
    foreach v_key in array array['from', 'to'] loop
        if pg_catalog.jsonb_typeof(v_spec->v_key) is distinct from 'string' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('query_calendar needs %s: an ISO date or datetime', v_key);
        end if;
        if v_spec->>v_key !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$' then
            raise exception using errcode = '22007',
                message = pg_catalog.format('%s: %L is not an ISO date or datetime', v_key, pg_catalog.left(v_spec->>v_key, 40));
        end if;
        v_at := case
            when v_spec->>v_key ~ '[T ][0-9:.]+(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' then (v_spec->>v_key)::timestamptz
            else (v_spec->>v_key)::timestamp at time zone v_tz end;
        if v_key = 'to' and pg_catalog.length(v_spec->>'to') = 10 then
            -- a day as to: the range ends with that day, not at its first instant
            v_at := ((v_spec->>'to')::date + 1)::timestamp at time zone v_tz;
        end if;
        v_r := docpal_private.q_param(v_state, pg_catalog.jsonb_build_object(
            'date', (v_spec->>v_key)::date,
            'timestamp with time zone', pg_catalog.to_char(v_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
        v_state := v_r.p_state;
        if v_key = 'from' then
            v_from := v_r.o_ref;
            v_from_at := v_at;
        elsif v_at < v_from_at or (v_spec->>'to')::date < (v_spec->>'from')::date then
            raise exception using errcode = '22023', message = 'query_calendar: from is after to';
        else
            v_to := v_r.o_ref;
        end if;
    end loop;
    if v_spec ? 'max_days' then
        if not v_spec ? 'end' then
            raise exception using errcode = '22023', message = 'query_calendar: max_days bounds events with an end; there is no end';
        end if;
        if pg_catalog.jsonb_typeof(v_spec->'max_days') <> 'number' or (v_spec->>'max_days')::numeric not between 0 and 36500
           or (v_spec->>'max_days')::numeric <> pg_catalog.trunc((v_spec->>'max_days')::numeric) then
            raise exception using errcode = '22023', message = 'max_days is a whole number from 0 to 36500';
        end if;
        v_r := docpal_private.q_param(v_state, v_spec->'max_days');
        v_state := v_r.p_state;
        v_days := v_r.o_ref;
    end if;
    v_cond := pg_catalog.format(case when v_type <> 'date' and pg_catalog.length(v_spec->>'to') = 10 then '%s < %s' else '%s <= %s' end,
                                v_parts->>'start', docpal_private.q_cast_sql(pg_catalog.format('%s->>%L', v_to, v_type), v_type));
    if not v_spec ? 'end' then
        v_cond := v_cond || pg_catalog.format(' and %s >= %s', v_parts->>'start',
                                              docpal_private.q_cast_sql(pg_catalog.format('%s->>%L', v_from, v_type), v_type));
    else
        v_cond := v_cond || pg_catalog.format(' and coalesce(%s, %s) >= %s', v_parts->>'end', v_parts->>'start',
                                              docpal_private.q_cast_sql(pg_catalog.format('%s->>%L', v_from, v_end_type), v_end_type));
        if v_days is not null then
            -- (the whole bound in one scalar subquery: timestamptz - interval is STABLE too)
            v_cond := v_cond || pg_catalog.format(' and %s >= (select (%s->>%L)::%s - %s)',
                v_parts->>'start', v_from, v_type, v_type,
                case v_type when 'date' then pg_catalog.format('(%s #>> ''{}'')::integer', v_days)
                            else pg_catalog.format('(%s #>> ''{}'')::integer * interval ''1 day''', v_days) end);
        end if;
    end if;
    v_state := v_state || pg_catalog.jsonb_build_object(
        'where', pg_catalog.format('(%s) and %s', v_state->>'where', v_cond),
        'select_joined', v_joined,
        'select', pg_catalog.format(
            'pg_catalog.jsonb_build_object(''id'', _t.id, ''label'', %s, ''start'', %s, ''end'', %s, ''color'', %s)',
            v_parts->>'label', v_parts->>'start', v_parts->>'end', v_parts->>'color'));
    v_state := docpal_private.q_default_order(v_state, v_parts->>'start');
    o_sql := docpal_private.q_page_sql(v_state);
    o_params := v_state->'params';
end
$$;
