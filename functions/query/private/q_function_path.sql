create or replace function docpal_private.q_function_path(
    inout p_state jsonb, p_path text, p_for_filter boolean,
    out o_sql text, out o_kind text, out o_column jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A function of a path (contract 4.1), wherever a path is taken:
     year quarter month week day weekday hour (p)   integers of a date or
         datetime path (week and weekday ISO, Monday = 1; a datetime is read
         in the company's time zone, docpal_private.q_time_zone; the hour of
         a date is 0)
     date(p)            the day of a datetime path, in that time zone
     count(p)           the number of elements of a multi_select,
                        relation_many or json array path (0 for none)
     count sum avg min max (list[.path])   a child aggregate over a list of
                        records (docpal_private.q_child_aggregate)
   o_column is a column spec for the result ({name, type}) so operators
   check and cast values as for a column of that type; for year(p) and
   date(p) it also carries the argument (_fn, _arg, _arg_kind, _tz), from
   which docpal_private.q_function_range makes a filter on them a range an
   index on p serves. Functions do not nest. An unknown function is an
   unknown path (42703); a function of a path of another type, 22023. */
declare
    v_match text[] := pg_catalog.regexp_match(p_path, '^([a-z]+)[(]([^()]+)[)]$');
    v_fn text := v_match[1];
    v_arg text := v_match[2];
    v_first text := pg_catalog.split_part(v_match[2], '.', 1);
    v_many jsonb;
    v_tz text;
    v_expr text;
    v_arg_sql text;
    v_r record;
begin
    if v_match is null or v_fn not in ('year', 'quarter', 'month', 'week', 'day', 'weekday', 'hour', 'date',
                                       'count', 'sum', 'avg', 'min', 'max') then
        raise exception using errcode = '42703', message = pg_catalog.format(
            'invalid path %L: the functions are year, quarter, month, week, day, weekday, hour, date, count, sum, avg, min, max of one path',
            p_path);
    end if;
    if v_fn in ('count', 'sum', 'avg', 'min', 'max') then
        if pg_catalog.strpos(v_arg, '.') > 0 or v_first not in ('id', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by') then
            v_r := docpal_private.q_to_many(p_state, p_path, p_state->>'root', v_first);
            p_state := v_r.p_state;
            v_many := v_r.o_many;
        end if;
        if v_many is not null and (v_fn <> 'count' or v_arg <> v_first or v_many->>'kind' = 'reverse') then
            v_r := docpal_private.q_child_aggregate(p_state, p_path, v_many, v_fn,
                                                   nullif(pg_catalog.substr(v_arg, pg_catalog.length(v_first) + 2), ''));
            p_state := v_r.p_state;
            o_sql := v_r.o_sql;
            o_kind := v_r.o_kind;
            o_column := v_r.o_column;
            return;
        end if;
        if v_fn <> 'count' then
            raise exception using errcode = '22023', message = pg_catalog.format(
                '%s: %s() takes a list of records and a path in it, as in %s(order_lines.amount)', p_path, v_fn, v_fn);
        end if;
    end if;
    v_r := docpal_private.q_path(p_state, v_arg, p_for_filter);
    p_state := v_r.p_state;
    o_kind := v_r.o_kind;
    if v_fn = 'count' then
        o_sql := case
            when o_kind in ('multi_select', 'relation_many') then pg_catalog.format('coalesce(pg_catalog.cardinality(%s), 0)', v_r.o_sql)
            when o_kind in ('json', 'json_path') then pg_catalog.format(
                '(case when pg_catalog.jsonb_typeof(%1$s) = ''array'' then pg_catalog.jsonb_array_length(%1$s) else 0 end)', v_r.o_sql) end;
        if o_sql is null then
            raise exception using errcode = '22023', message = pg_catalog.format(
                '%s: count() takes a multi_select, relation_many or json array path, or a list of records; %s is %s',
                p_path, v_arg, o_kind);
        end if;
        o_kind := 'integer';
        o_column := '{"type": "integer"}';
        return;
    end if;
    if o_kind not in ('date', 'datetime') or v_fn = 'date' and o_kind <> 'datetime' then
        raise exception using errcode = '22023', message = pg_catalog.format(
            '%s: %s() takes a %s path; %s is %s', p_path, v_fn,
            case v_fn when 'date' then 'datetime' else 'date or datetime' end, v_arg, o_kind);
    end if;
    v_arg_sql := v_r.o_sql;
    v_expr := v_arg_sql;
    if o_kind = 'datetime' then
        v_r := docpal_private.q_time_zone(p_state);
        p_state := v_r.p_state;
        v_tz := v_r.o_ref;
        v_expr := pg_catalog.format('(%s at time zone (%s #>> ''{}''))', v_arg_sql, v_tz);
    end if;
    o_column := pg_catalog.jsonb_build_object('name', p_path, 'type', case v_fn when 'date' then 'date' else 'integer' end,
                                              '_fn', v_fn, '_arg', v_arg_sql, '_arg_kind', o_kind, '_tz', v_tz);
    o_kind := o_column->>'type';
    o_sql := case v_fn
        when 'date' then pg_catalog.format('(%s)::date', v_expr)
        else pg_catalog.format('pg_catalog.date_part(%L, %s)::integer', case v_fn when 'weekday' then 'isodow' else v_fn end, v_expr) end;
end
$$;
