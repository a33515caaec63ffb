create or replace function docpal_private.q_function_range(
    inout p_state jsonb, p_column jsonb, p_op text, p_value jsonb, out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A filter on year(p) or date(p) (p_column from docpal_private.q_function_path)
   as a range on p itself, which a btree index on p serves:
   year(day) = 2026 is day >= 2026-01-01 and day < 2027-01-01; on a datetime
   the bounds are the company's local midnights (timestamp at time zone,
   the zone's parameter). eq, gt, gte, lt, lte and between; o_sql is null
   for anything else (neq, in, other functions, a value out of range), and
   the caller compares the function's value instead. month(p) and the
   others repeat every year: no single range of p holds them, so they are
   compared as values (an expression index on the function would serve
   them; docs/queries.md). The bounds are computed here and bound. */
declare
    v_vals jsonb := case when p_op = 'between' then p_value else pg_catalog.jsonb_build_array(p_value) end;
    v_lo text;      -- the first day of the range, inclusive (null: open)
    v_hi text;      -- the day after it, exclusive (null: open)
    v_a date;
    v_b date;
    v_bound text;
    v_parts text[] := '{}';
    v_r record;
    i integer;
begin
    if p_column->>'_fn' not in ('year', 'date') or p_op not in ('eq', 'gt', 'gte', 'lt', 'lte', 'between')
       or pg_catalog.jsonb_typeof(v_vals) <> 'array' or pg_catalog.jsonb_array_length(v_vals) <> (case when p_op = 'between' then 2 else 1 end) then
        return;
    end if;
    begin
        if p_column->>'_fn' = 'year' then
            if exists (select from pg_catalog.jsonb_array_elements(v_vals) v
                        where pg_catalog.jsonb_typeof(v) <> 'number' or (v #>> '{}')::numeric not between 1 and 9998
                           or (v #>> '{}')::numeric <> pg_catalog.trunc((v #>> '{}')::numeric)) then
                return;
            end if;
            v_a := pg_catalog.make_date((v_vals->>0)::numeric::integer, 1, 1);
            v_b := pg_catalog.make_date((v_vals->>-1)::numeric::integer + 1, 1, 1);   -- the first day after the last year
        else
            -- ($now and the other variables are q_operator_condition's: '$now'::date would be today here)
            if exists (select from pg_catalog.jsonb_array_elements(v_vals) v
                        where pg_catalog.jsonb_typeof(v) <> 'string' or pg_catalog.starts_with(v #>> '{}', '$')) then
                return;
            end if;
            v_a := (v_vals->>0)::date;
            v_b := (v_vals->>-1)::date + 1;
        end if;
    exception when invalid_datetime_format or datetime_field_overflow then
        return;   -- not a valid year or date: compared as a value, which says what is wrong
    end;
    v_lo := case p_op when 'eq' then v_a::text when 'gte' then v_a::text when 'between' then v_a::text
                      when 'gt' then v_b::text end;
    v_hi := case p_op when 'eq' then v_b::text when 'lte' then v_b::text when 'between' then v_b::text
                      when 'lt' then v_a::text end;
    foreach v_bound in array array[v_lo, v_hi] loop
        i := coalesce(i, 0) + 1;
        continue when v_bound is null;
        v_r := docpal_private.q_param(p_state, pg_catalog.to_jsonb(v_bound));
        p_state := v_r.p_state;
        v_parts := v_parts || pg_catalog.format('%s %s %s', p_column->>'_arg', case i when 1 then '>=' else '<' end,
            -- (a scalar subquery: computed once, not for every row; docpal_private.q_cast_sql)
            case p_column->>'_arg_kind'
                when 'date' then docpal_private.q_cast_sql(v_r.o_ref || ' #>> ''{}''', 'date')
                else pg_catalog.format('(select (%s #>> ''{}'')::timestamp at time zone (%s #>> ''{}''))',
                                       v_r.o_ref, p_column->>'_tz') end);
    end loop;
    o_sql := '(' || pg_catalog.array_to_string(v_parts, ' and ') || ')';
end
$$;
