create or replace function docpal_private.cron_next(p_schedule text, p_after timestamptz, p_time_zone text)
    returns timestamptz
    language plpgsql stable strict parallel safe
    set search_path = pg_catalog, pg_temp
as $$
/* The first whole minute strictly after p_after that report schedule
   p_schedule (docpal_private.cron_parse) names, its fields read as wall-clock
   time in p_time_zone. Daylight saving time: a wall-clock time that does not
   exist that day (clocks spring forward over it) is skipped, not moved; one
   that happens twice (clocks fall back) runs once, at its first occurrence.
   Searches wall-clock time month, day, hour and minute at a time, never
   minute by minute (except through a DST gap or repeated hour). 22023 for a
   malformed schedule or time zone, or p_after infinite. Stable, not
   immutable: the time zone rules come from tzdata, which an upgrade
   changes. */
declare
    v_cron record;
    v_local timestamp;     -- the wall-clock candidate
    v_limit timestamp;
    v_at timestamptz;
    v_before timestamptz;
    v_early timestamptz;
    v_field int;
    v_bits bigint;
    v_last_day int;
begin
    select * into v_cron from docpal_private.cron_parse(p_schedule);
    if not pg_catalog.isfinite(p_after) then
        raise exception using errcode = '22023', message = 'the start of a schedule search must be a finite time';
    end if;
    v_local := pg_catalog.date_trunc('minute', p_after at time zone p_time_zone) + interval '1 minute';
    -- cron_parse refuses a schedule that never runs; the bound only keeps a
    -- defect from looping for ever (a valid one runs within 28 years)
    v_limit := v_local + interval '40 years';
    loop
        if v_local > v_limit then
            raise exception using errcode = '22023', message = pg_catalog.format('schedule %L never runs', p_schedule);
        end if;
        v_field := pg_catalog.date_part('month', v_local)::int;
        if (v_cron.months >> v_field) & 1 = 0 then
            v_local := pg_catalog.date_trunc('month', v_local) + interval '1 month';
            continue;
        end if;
        v_field := pg_catalog.date_part('day', v_local)::int;
        if (v_cron.days >> v_field) & 1 = 0 and not v_cron.either_day then
            -- both day fields must match: straight to the next allowed day of
            -- the month, or the next month
            v_bits := v_cron.days >> v_field;
            v_last_day := pg_catalog.date_part('day', pg_catalog.date_trunc('month', v_local) + interval '1 month - 1 day')::int;
            if v_bits = 0 then
                v_local := pg_catalog.date_trunc('month', v_local) + interval '1 month';
            else
                v_field := v_field + pg_catalog.round(pg_catalog.ln((v_bits & -v_bits)::float8) / pg_catalog.ln(2::float8))::int;
                v_local := case when v_field > v_last_day
                                then pg_catalog.date_trunc('month', v_local) + interval '1 month'
                                else pg_catalog.date_trunc('month', v_local) + pg_catalog.make_interval(days => v_field - 1) end;
            end if;
            continue;
        end if;
        if not ((v_cron.weekdays >> pg_catalog.date_part('dow', v_local)::int) & 1 = 1
                or v_cron.either_day and (v_cron.days >> v_field) & 1 = 1) then
            v_local := pg_catalog.date_trunc('day', v_local) + interval '1 day';
            continue;
        end if;
        -- the next allowed hour of this day, then minute of this hour: the
        -- lowest bit set at or above the current one
        v_field := pg_catalog.date_part('hour', v_local)::int;
        v_bits := v_cron.hours >> v_field;
        if v_bits = 0 then
            v_local := pg_catalog.date_trunc('day', v_local) + interval '1 day';
            continue;
        elsif v_bits & 1 = 0 then
            v_field := v_field + pg_catalog.round(pg_catalog.ln((v_bits & -v_bits)::float8) / pg_catalog.ln(2::float8))::int;
            v_local := pg_catalog.date_trunc('day', v_local) + pg_catalog.make_interval(hours => v_field);
        end if;
        v_field := pg_catalog.date_part('minute', v_local)::int;
        v_bits := v_cron.minutes >> v_field;
        if v_bits = 0 then
            v_local := pg_catalog.date_trunc('hour', v_local) + interval '1 hour';
            continue;
        elsif v_bits & 1 = 0 then
            v_field := v_field + pg_catalog.round(pg_catalog.ln((v_bits & -v_bits)::float8) / pg_catalog.ln(2::float8))::int;
            v_local := pg_catalog.date_trunc('hour', v_local) + pg_catalog.make_interval(mins => v_field);
        end if;

        -- v_local matches: the instant it stands for in the zone
        v_at := v_local at time zone p_time_zone;
        if (v_at at time zone p_time_zone) = v_local then
            -- a repeated wall-clock time: PostgreSQL takes the later instant;
            -- the earlier one has the offset in force before the change
            v_before := v_at - interval '1 day';
            v_early := (v_local - ((v_before at time zone p_time_zone) - (v_before at time zone 'UTC'))) at time zone 'UTC';
            if v_early < v_at and (v_early at time zone p_time_zone) = v_local then
                v_at := v_early;
            end if;
            if v_at > p_after then
                return v_at;
            end if;
        end if;
        -- a wall-clock time that does not exist (spring forward), or the
        -- second pass of a repeated one that already ran
        v_local := v_local + interval '1 minute';
    end loop;
end
$$;
