create or replace function docpal_private.q_metric_sql(
    inout p_state jsonb, p_name text, p_metric jsonb, out o_sql text, out o_kind text, out o_column jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* One metric of docpal.aggregate (all but expr, which is
   docpal_private.q_metric_exprs'), as its aggregate SQL (o_sql), the kind
   of its value and a column spec for having to compare it with (o_kind,
   o_column). "count", or an object of one key:
     count_distinct, sum, avg, min, max   a path
     count_if                             a filter: count(*) filter (where ...)
     sum_if                               [path, filter]: sum(path) filter (where ...)
     percentile                           [path, fraction 0..1]: on numbers (and durations)
                                          percentile_cont, interpolated; on dates, times and
                                          datetimes percentile_disc, a value that occurs
   A metric's filter is compiled as the spec's filters are
   (docpal_private.q_filter, the same state), so permissions, cell masks and
   every path and operator apply to it; the fraction is bound, not spliced.
   22023 for a malformed metric or a column of the wrong kind, 42703 for an
   unknown path, 42501 for a path the member may not read. */
declare
    v_numbers constant text[] := array['integer', 'bigint', 'decimal', 'float', 'currency', 'percent', 'rating',
                                       'autonumber', 'formula'];
    v_op text;
    v_arg jsonb;
    v_path text;
    v_filter jsonb;
    v_expr text;
    v_cond text;
    v_ref text;
    v_r record;
begin
    if p_metric = '"count"'::jsonb then
        o_sql := 'pg_catalog.count(*)';
        o_kind := 'bigint';
        o_column := '{"type": "bigint"}';
        return;
    end if;
    if pg_catalog.jsonb_typeof(p_metric) <> 'object' or (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(p_metric)) <> 1 then
        raise exception using errcode = '22023', message = pg_catalog.format(
            'metric %s: "count" or {"sum" | "avg" | "min" | "max" | "count_distinct" | "count_if" | "sum_if" | "percentile" | "expr": ...}',
            p_name);
    end if;
    select e.key, e.value into v_op, v_arg from pg_catalog.jsonb_each(p_metric) e;
    if v_op = 'count_if' then
        select f.p_state, f.o_sql into p_state, v_cond from docpal_private.q_filter(p_state, v_arg) f;
        o_sql := pg_catalog.format('pg_catalog.count(*) filter (where %s)', v_cond);
        o_kind := 'bigint';
        o_column := '{"type": "bigint"}';
        return;
    end if;
    -- the path, and what goes with it
    if v_op in ('count_distinct', 'sum', 'avg', 'min', 'max') and pg_catalog.jsonb_typeof(v_arg) = 'string' then
        v_path := v_arg #>> '{}';
    elsif v_op in ('sum_if', 'percentile') and pg_catalog.jsonb_typeof(v_arg) = 'array' and pg_catalog.jsonb_array_length(v_arg) = 2
          and pg_catalog.jsonb_typeof(v_arg->0) = 'string' then
        v_path := v_arg->>0;
        v_filter := case when v_op = 'sum_if' then v_arg->1 end;
        if v_op = 'percentile' and (pg_catalog.jsonb_typeof(v_arg->1) <> 'number' or (v_arg->>1)::numeric not between 0 and 1) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('metric %s: percentile takes [path, fraction] with a fraction from 0 to 1', p_name);
        end if;
    elsif v_op in ('count_distinct', 'sum', 'avg', 'min', 'max', 'sum_if', 'percentile') then
        raise exception using errcode = '22023', message = pg_catalog.format('metric %s: %s takes %s', p_name, v_op,
            case v_op when 'sum_if' then '[path, filter]' when 'percentile' then '[path, fraction]' else 'a path' end);
    else
        raise exception using errcode = '22023', message = pg_catalog.format('metric %s: unknown metric %L', p_name, v_op);
    end if;
    v_r := docpal_private.q_path(p_state, v_path, true);
    p_state := v_r.p_state;
    v_expr := v_r.o_sql;
    o_kind := v_r.o_kind;
    o_column := v_r.o_column;
    if o_kind = 'json_path' and v_op <> 'count_distinct' then
        -- inside json a number is a number: the metric takes the numbers, ignores the rest
        v_expr := pg_catalog.format('(case when pg_catalog.jsonb_typeof(%1$s) = ''number'' then (%1$s)::numeric end)', v_expr);
        o_kind := 'decimal';
        o_column := '{"type": "decimal"}';
    end if;
    if v_op in ('sum', 'avg', 'sum_if') and o_kind <> all (v_numbers) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('metric %s: %s needs a number column, not %s', p_name, v_op, o_kind);
    end if;
    if v_op in ('min', 'max') and o_kind in ('uuid', 'relation', 'user', 'file', 'boolean', 'json',
                                             'multi_select', 'relation_many') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('metric %s: %s needs an ordered column (text, number, date, time), not %s',
                                        p_name, v_op, o_kind);
    end if;
    if v_op = 'percentile' and o_kind not in ('integer', 'bigint', 'decimal', 'float', 'currency', 'percent', 'rating',
                                              'autonumber', 'duration', 'date', 'time', 'datetime') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('metric %s: percentile needs a number, duration, date, time or datetime column, not %s',
                                        p_name, o_kind);
    end if;
    if v_op = 'sum_if' then
        select f.p_state, f.o_sql into p_state, v_cond from docpal_private.q_filter(p_state, v_filter) f;
    elsif v_op = 'percentile' then
        v_r := docpal_private.q_param(p_state, v_arg->1);
        p_state := v_r.p_state;
        v_ref := v_r.o_ref;
    end if;
    o_sql := case v_op
        when 'count_distinct' then pg_catalog.format('pg_catalog.count(distinct %s)', v_expr)
        when 'sum_if' then pg_catalog.format('pg_catalog.sum(%s) filter (where %s)', v_expr, v_cond)
        when 'percentile' then case
            when o_kind in ('date', 'time', 'datetime')
                then pg_catalog.format('pg_catalog.percentile_disc((%s #>> ''{}'')::float8) within group (order by %s)', v_ref, v_expr)
            when o_kind = 'duration'
                then pg_catalog.format('pg_catalog.percentile_cont((%s #>> ''{}'')::float8) within group (order by %s)', v_ref, v_expr)
            else pg_catalog.format('pg_catalog.percentile_cont((%s #>> ''{}'')::float8) within group (order by (%s)::float8)',
                                   v_ref, v_expr) end
        else pg_catalog.format('pg_catalog.%s(%s)', v_op, v_expr) end;
    -- the kind of the value, and what having compares it as
    if v_op = 'count_distinct' then
        o_kind := 'bigint';
    elsif v_op in ('sum', 'avg', 'sum_if') then
        o_kind := 'decimal';
    elsif v_op = 'percentile' and o_kind not in ('date', 'time', 'datetime', 'duration') then
        o_kind := 'float';
    end if;
    if o_kind in ('bigint', 'decimal', 'float') then
        o_column := pg_catalog.jsonb_build_object('type', o_kind);
    end if;
end
$$;
