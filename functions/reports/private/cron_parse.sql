create or replace function docpal_private.cron_parse(
    p_schedule text,
    out minutes bigint, out hours bigint, out days bigint, out months bigint, out weekdays bigint,
    out either_day boolean, out normalized text)
    language plpgsql immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
as $$
/* A report schedule (contract section 11): a standard 5-field cron
   expression "minute hour day-of-month month day-of-week" or a macro
   (@yearly/@annually, @monthly, @weekly, @daily/@midnight, @hourly), parsed
   into one bit mask per field (bit n set = value n allowed; minute 0-59,
   hour 0-23, day 1-31, month 1-12, weekday 0-6 with Sunday 0) for
   cron_next and cron_check. Fields take *, numbers, lists a,b, ranges a-b,
   steps (* or a range, then /n), month names jan-dec and day names sun-sat
   (any case); day of week 7 is Sunday too. either_day: both day fields are
   restricted (neither starts with *), so a day matches when either one
   does (Vixie cron and pg_cron); otherwise both must match. normalized:
   the expression lower-cased with single spaces, @annually and @midnight as
   @yearly and @daily. 22023, naming the field, for anything else, for more
   than 100 characters, and for a schedule that can never match (a day no
   month in it has, such as 0 0 30 2 *). */
declare
    c_names constant text[] := array['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
    c_low constant int[] := array[0, 0, 1, 1, 0];
    c_high constant int[] := array[59, 23, 31, 12, 7];
    -- the last day of each month, February in a leap year
    c_month_days constant int[] := array[31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    v_text text;
    v_fields text[];
    v_low int;
    v_high int;
    v_mask bigint;
    v_field int;
    v_item text;
    v_range text;
    v_first text;
    v_last text;
    v_from int;
    v_to int;
    v_step int;
    v_value int;
    v_month int;
begin
    if pg_catalog.length(p_schedule) > 100 then
        raise exception using errcode = '22023', message = 'a schedule is at most 100 characters';
    end if;
    v_text := pg_catalog.lower(pg_catalog.btrim(p_schedule, E' \t\r\n'));
    if v_text like '@%' then
        normalized := case v_text when '@annually' then '@yearly' when '@midnight' then '@daily' else v_text end;
        v_text := case normalized
            when '@yearly' then '0 0 1 1 *' when '@monthly' then '0 0 1 * *' when '@weekly' then '0 0 * * 0'
            when '@daily' then '0 0 * * *' when '@hourly' then '0 * * * *' end;
        if v_text is null then
            raise exception using errcode = '22023', message = pg_catalog.format('schedule %L: unknown macro', p_schedule),
                hint = 'The macros are @yearly (@annually), @monthly, @weekly, @daily (@midnight) and @hourly.';
        end if;
    end if;
    v_fields := pg_catalog.regexp_split_to_array(v_text, E'[ \t\r\n]+');
    if v_text = '' or pg_catalog.cardinality(v_fields) <> 5 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('schedule %L: a cron expression has 5 fields', p_schedule),
            hint = 'minute hour day-of-month month day-of-week, e.g. "0 6 * * mon-fri", or a macro such as @daily.';
    end if;
    normalized := coalesce(normalized, pg_catalog.array_to_string(v_fields, ' '));

    for v_field in 1..5 loop
        v_low := c_low[v_field];
        v_high := c_high[v_field];
        v_mask := 0;
        if v_fields[v_field] = '*' then  -- the common case, without the item parser
            v_mask := (1::bigint << (v_high + 1)) - (1::bigint << v_low);
        end if;
        foreach v_item in array case when v_mask = 0 then pg_catalog.string_to_array(v_fields[v_field], ',') else '{}' end loop
            -- * or a value or a range of values, then an optional /step
            -- (regexp_match costs twenty times what ~ and split_part do)
            if v_item !~ '^(\*|([0-9]{1,2}|[a-z]{3})(-([0-9]{1,2}|[a-z]{3}))?)(/[0-9]{1,2})?$' then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('schedule %L: the %s field has a malformed item %L', p_schedule, c_names[v_field], v_item),
                    hint = 'An item is *, a value, a range a-b, or */n or a-b/n.';
            end if;
            v_range := pg_catalog.split_part(v_item, '/', 1);
            if v_range = '*' then
                v_from := v_low;
                v_to := v_high;
            else
                v_first := pg_catalog.split_part(v_range, '-', 1);
                v_last := nullif(pg_catalog.split_part(v_range, '-', 2), '');
                if v_item ~ '[a-z]' then  -- names, in the month and day-of-week fields only
                    v_first := docpal_private.cron_name(p_schedule, c_names[v_field], v_first);
                    v_last := docpal_private.cron_name(p_schedule, c_names[v_field], v_last);
                end if;
                v_from := v_first::int;
                v_to := coalesce(v_last::int, v_from);
                if v_last is null and v_range <> v_item then
                    raise exception using errcode = '22023',
                        message = pg_catalog.format('schedule %L: the %s field has a step without * or a range in %L', p_schedule, c_names[v_field], v_item),
                        hint = 'Write */n or a-b/n.';
                end if;
                if v_from < v_low or v_to > v_high then
                    raise exception using errcode = '22023',
                        message = pg_catalog.format('schedule %L: the %s field allows %s to %s, not %L',
                                                    p_schedule, c_names[v_field], v_low, v_high, v_item);
                end if;
                if v_from > v_to then
                    raise exception using errcode = '22023',
                        message = pg_catalog.format('schedule %L: the %s field has a backwards range %L', p_schedule, c_names[v_field], v_item);
                end if;
            end if;
            v_step := coalesce(nullif(pg_catalog.split_part(v_item, '/', 2), '')::int, 1);
            if v_step < 1 or v_step > v_high - v_low + 1 then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('schedule %L: the %s field has a step out of range in %L', p_schedule, c_names[v_field], v_item),
                    hint = pg_catalog.format('A step is from 1 to %s.', v_high - v_low + 1);
            end if;
            if v_step = 1 then
                v_mask := v_mask | ((1::bigint << (v_to + 1)) - (1::bigint << v_from));
            else
                for v_value in v_from..v_to by v_step loop
                    v_mask := v_mask | (1::bigint << v_value);
                end loop;
            end if;
        end loop;
        case v_field
            when 1 then minutes := v_mask;
            when 2 then hours := v_mask;
            when 3 then days := v_mask;
            when 4 then months := v_mask;
            else weekdays := (v_mask | (v_mask >> 7)) & 127;  -- 7 is Sunday, as 0
        end case;
    end loop;

    -- Vixie cron: a field that starts with * does not restrict the day
    either_day := v_fields[3] !~ '^\*' and v_fields[5] !~ '^\*';

    -- When both day fields must match, a day of the month that some month of
    -- the schedule has must be allowed, or the schedule never runs. (Such a
    -- date falls on every weekday within some 28 years, so the weekdays need
    -- no check; when either field may match, every week has a run.)
    if not either_day then
        foreach v_month in array array[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] loop
            if (months >> v_month) & 1 = 1 and days & ((1::bigint << (c_month_days[v_month] + 1)) - 2) <> 0 then
                return;
            end if;
        end loop;
        raise exception using errcode = '22023',
            message = pg_catalog.format('schedule %L never runs: no month in its month field has a day of its day-of-month field', p_schedule);
    end if;
end
$$;
