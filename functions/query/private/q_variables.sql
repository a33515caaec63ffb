create or replace function docpal_private.q_variables(
    inout p_state jsonb, inout p_vals jsonb, p_type text, p_label text, out o_sql text[])
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The variables among the values p_vals (a JSON array) of a filter on a
   path of SQL type p_type (contract 4.1):
     $user, $company            on uuid paths (user, relation, file and uuid
                                columns, id, created_by, updated_by): the
                                id is put in p_vals in the variable's place,
                                so the condition is the one a literal id
                                makes; where the state names an SQL
                                expression for the user (vars.user_sql: an
                                event rule's capture function, whose _user is
                                the writer) that expression is used instead;
     $now, $now(<n> <unit>)     on date, time and datetime paths: an SQL
                                expression over pg_catalog.now(), with n and
                                the company's time zone bound as one
                                parameter.
   o_sql holds, per element of p_vals (1-based), the SQL of a variable that
   is an expression (its place in p_vals is then null), null for a value
   read from p_vals; o_sql itself is null when no element is an expression.
   Any other string is left as it is: a literal, checked by the caller.
   $now is an expression evaluated when the statement runs, never a value
   computed here: a query runs at once, but an event rule's condition is
   baked into the table's capture function and must mean the moment of each
   write. On a date path $now is today in the company's time zone
   (settings.time_zone, default UTC), on a time path the time of day there;
   on a datetime path a unit of a day or more moves the wall clock of that
   zone (so -1 day is the same time yesterday across a DST change), minutes
   and hours move the instant. The company and the user are looked up once
   per compile and kept in p_state.vars. 22023 for a malformed $now
   (unknown unit, n not a whole number, n past ±100,000, or more than
   1,000 years) or a time zone PostgreSQL does not know. */
declare
    v_text text;
    v_match text[];
    v_n numeric;
    v_unit text;
    v_vars jsonb := coalesce(p_state->'vars', '{}');
    v_zone_ref text;
    v_r record;
    v_now text;
    i integer;
begin
    for i in 0 .. pg_catalog.jsonb_array_length(p_vals) - 1 loop
        continue when pg_catalog.jsonb_typeof(p_vals->i) <> 'string';
        v_text := p_vals->>i;
        if p_type = 'uuid' and v_text in ('$user', '$company') then
            if v_text = '$user' and v_vars ? 'user_sql' then
                o_sql[i + 1] := v_vars->>'user_sql';
                p_vals := pg_catalog.jsonb_set(p_vals, array[i::text], 'null');
                continue;
            end if;
            if v_text = '$user' and not v_vars ? 'user' then
                -- the verified context's user (null without one: matches nothing)
                v_vars := v_vars || pg_catalog.jsonb_build_object('user', (select c.user_id from docpal_private.context() c));
            elsif v_text = '$company' and not v_vars ? 'company' then
                v_vars := v_vars || pg_catalog.jsonb_build_object('company', docpal_private.company_of_schema(p_state->>'schema'));
            end if;
            p_vals := pg_catalog.jsonb_set(p_vals, array[i::text], v_vars->pg_catalog.ltrim(v_text, '$'));
        elsif p_type <> 'uuid' and pg_catalog.starts_with(v_text, '$now') then
            v_match := pg_catalog.regexp_match(v_text,
                '^\$now(?:\(\s*([+-]?[0-9]{1,9})\s+(minute|hour|day|week|month|year)s?\s*\))?$');
            if v_match is null then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('%s: %L is not a valid $now', p_label, v_text),
                    hint = 'Write $now or $now(<n> <unit>): a signed whole number and one of minute, hour, day, week, month, year, as in $now(-7 day).';
            end if;
            v_n := v_match[1]::numeric;
            v_unit := v_match[2];
            -- bounded so that the moment stays within PostgreSQL's dates
            if pg_catalog.abs(v_n) > (case v_unit when 'year' then 1000 when 'month' then 12000 else 100000 end) then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('%s: %L is out of range', p_label, v_text),
                    hint = 'n is at most 100,000 (months 12,000, years 1,000) either way.';
            end if;
            if p_type = 'timestamp with time zone' and coalesce(v_unit in ('minute', 'hour'), true) then
                -- an instant: now, or now moved by minutes or hours (no zone involved)
                o_sql[i + 1] := 'pg_catalog.now()';
                if v_unit is not null then
                    v_r := docpal_private.q_param(p_state, pg_catalog.jsonb_build_object('n', v_n));
                    p_state := v_r.p_state;
                    o_sql[i + 1] := pg_catalog.format('(pg_catalog.now() + pg_catalog.make_interval(%s => (%s->>''n'')::integer))',
                                                      case v_unit when 'minute' then 'mins' else 'hours' end, v_r.o_ref);
                end if;
            else
                if not v_vars ? 'zone' then
                    v_vars := v_vars || pg_catalog.jsonb_build_object('zone', docpal_private.company_time_zone(p_state->>'schema'));
                    begin
                        perform pg_catalog.timezone(v_vars->>'zone', pg_catalog.now());
                    exception when invalid_parameter_value then
                        raise exception using errcode = '22023',
                            message = pg_catalog.format('%s: the company''s time zone %L is not a time zone PostgreSQL knows',
                                                        p_label, v_vars->>'zone'),
                            hint = 'Set settings.time_zone to a name such as Europe/Berlin (update_company).';
                    end;
                end if;
                v_r := docpal_private.q_param(p_state, pg_catalog.jsonb_strip_nulls(
                    pg_catalog.jsonb_build_object('zone', v_vars->>'zone', 'n', v_n)));
                p_state := v_r.p_state;
                v_zone_ref := pg_catalog.format('(%s->>''zone'')', v_r.o_ref);
                -- the wall clock of the company's zone, moved by n units
                v_now := pg_catalog.format('pg_catalog.timezone(%s, pg_catalog.now())', v_zone_ref);
                if v_unit is not null then
                    v_now := pg_catalog.format('(%s + pg_catalog.make_interval(%s => (%s->>''n'')::integer))', v_now,
                                               case v_unit when 'minute' then 'mins' else v_unit || 's' end, v_r.o_ref);
                end if;
                o_sql[i + 1] := case p_type
                    when 'date' then pg_catalog.format('(%s)::date', v_now)
                    when 'time without time zone' then pg_catalog.format('(%s)::time', v_now)
                    -- a datetime moved by days or more: that wall clock, back to an instant
                    else pg_catalog.format('pg_catalog.timezone(%s, %s)', v_zone_ref, v_now) end;
            end if;
            p_vals := pg_catalog.jsonb_set(p_vals, array[i::text], 'null');
        end if;
    end loop;
    if v_vars <> '{}'::jsonb then
        p_state := p_state || pg_catalog.jsonb_build_object('vars', v_vars);
    end if;
end
$$;
