create or replace function docpal_private.cron_name(p_schedule text, p_field text, p_value text)
    returns text
    language plpgsql immutable parallel safe
    set search_path = pg_catalog, pg_temp
as $$
/* One value of a field of schedule p_schedule (docpal_private.cron_parse) as
   a number: p_value itself when it is one (or null), else the number of a
   month name jan-dec in the month field or a day name sun-sat (Sunday 0) in
   the day-of-week field. 22023 for any other name. */
declare
    v_number int;
begin
    if p_value is null or p_value ~ '^[0-9]' then
        return p_value;
    end if;
    v_number := case p_field
        when 'month' then pg_catalog.array_position(
            array['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'], p_value)
        when 'day-of-week' then pg_catalog.array_position(array['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], p_value) - 1
    end;
    if v_number is null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('schedule %L: the %s field has an unknown name %L', p_schedule, p_field, p_value),
            hint = 'Months are jan-dec (month field only), days sun-sat (day-of-week field only).';
    end if;
    return v_number::text;
end
$$;
