create or replace function docpal_private.q_aggregate_statement(
    p_caller jsonb, p_slug text, p_spec jsonb, out o_sql text, out o_params jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The statement docpal.aggregate runs for the spec (o_sql, $1 = o_params), for the
   caller p_caller (docpal_private.require_company() as jsonb, looked up once
   by the public function): everything aggregate does but running it. */
declare
    v_spec jsonb := docpal_private.q_check_spec(p_spec);
    v_state jsonb;
    v_path text;
    v_expr text;
    v_kind text;
    v_column jsonb;
    v_groups text[] := '{}';
    v_pairs text[] := '{}';
    v_name text;
    v_metric jsonb;
    v_op text;
    v_agg text;
    v_having text := 'true';
    v_sql text;
begin
    perform docpal_private.q_reject_keys(v_spec, array['columns', 'sort', 'limit', 'offset', 'count'], 'aggregate');
    v_state := docpal_private.q_compile(p_caller, p_slug, v_spec - 'group_by' - 'metrics' - 'having',
                                        array[]::text[]);
    if v_spec ? 'group_by' and (pg_catalog.jsonb_typeof(v_spec->'group_by') <> 'array'
           or exists (select from pg_catalog.jsonb_array_elements(v_spec->'group_by') g where pg_catalog.jsonb_typeof(g) <> 'string')) then
        raise exception using errcode = '22023', message = 'group_by must be an array of paths';
    end if;
    for v_path in select pg_catalog.jsonb_array_elements_text(coalesce(v_spec->'group_by', '[]')) loop
        select q.p_state, q.o_sql into v_state, v_expr from docpal_private.q_path(v_state, v_path, true) q;
        v_groups := v_groups || v_expr;
        v_pairs := v_pairs || pg_catalog.format('%L, %s', v_path, v_expr);
    end loop;

    if pg_catalog.jsonb_typeof(v_spec->'metrics') is distinct from 'object' or v_spec->'metrics' = '{}'::jsonb then
        raise exception using errcode = '22023', message = 'metrics must be an object of name: metric';
    end if;
    v_state := v_state || '{"paths": {}}'::jsonb;
    for v_name, v_metric in select e.key, e.value from pg_catalog.jsonb_each(v_spec->'metrics') e loop
        if v_name !~ '^[a-z][a-z0-9_]{0,62}$' then
            raise exception using errcode = '22023', message = pg_catalog.format('invalid metric name %L', v_name);
        end if;
        if v_metric = '"count"'::jsonb then
            v_agg := 'pg_catalog.count(*)';
            v_kind := 'bigint';
        else
            if pg_catalog.jsonb_typeof(v_metric) <> 'object' or (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(v_metric)) <> 1 then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('metric %s: "count" or {"sum" | "avg" | "min" | "max" | "count_distinct": path}', v_name);
            end if;
            select e.key, e.value #>> '{}' into v_op, v_path from pg_catalog.jsonb_each(v_metric) e;
            if v_op not in ('count_distinct', 'sum', 'avg', 'min', 'max') or pg_catalog.jsonb_typeof(v_metric->v_op) <> 'string' then
                raise exception using errcode = '22023', message = pg_catalog.format('metric %s: unknown metric %L', v_name, v_op);
            end if;
            select q.p_state, q.o_sql, q.o_kind, q.o_column into v_state, v_expr, v_kind, v_column
              from docpal_private.q_path(v_state, v_path, true) q;
            if v_kind = 'json_path' and v_op <> 'count_distinct' then
                -- inside json a number is a number: the metric takes the numbers, ignores the rest
                v_expr := pg_catalog.format('(case when pg_catalog.jsonb_typeof(%1$s) = ''number'' then (%1$s)::numeric end)', v_expr);
                v_kind := 'decimal';
            end if;
            if v_op in ('sum', 'avg') and v_kind not in ('integer', 'bigint', 'decimal', 'float', 'currency', 'percent',
                                                         'rating', 'autonumber', 'formula') then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('metric %s: %s needs a number column, not %s', v_name, v_op, v_kind);
            end if;
            if v_op in ('min', 'max') and v_kind in ('uuid', 'relation', 'user', 'file', 'boolean', 'json',
                                                     'multi_select', 'relation_many') then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('metric %s: %s needs an ordered column (text, number, date, time), not %s',
                                                v_name, v_op, v_kind);
            end if;
            v_agg := case v_op when 'count_distinct' then pg_catalog.format('pg_catalog.count(distinct %s)', v_expr)
                               else pg_catalog.format('pg_catalog.%s(%s)', v_op, v_expr) end;
            v_kind := case when v_op = 'count_distinct' then 'bigint' when v_op in ('sum', 'avg') then 'decimal' else v_kind end;
        end if;
        v_pairs := v_pairs || pg_catalog.format('%L, %s', v_name, v_agg);
        v_state := pg_catalog.jsonb_set(v_state, array['paths', v_name], pg_catalog.jsonb_build_object(
            'sql', v_agg, 'kind', v_kind,
            'column', coalesce(case when v_kind in ('bigint', 'decimal') then pg_catalog.jsonb_build_object('type', v_kind) end,
                               v_column, pg_catalog.jsonb_build_object('type', v_kind))));
    end loop;
    if v_spec ? 'having' then
        -- only metric names: a path would have no meaning after GROUP BY
        if pg_catalog.jsonb_typeof(v_spec->'having') = 'object' and exists (
               select from pg_catalog.jsonb_object_keys(v_spec->'having') k
                where k not in ('_and', '_or', '_not') and not v_state->'paths' ? k) then
            raise exception using errcode = '42703', message = 'having names only metrics';
        end if;
        select f.p_state, f.o_sql into v_state, v_having from docpal_private.q_filter(v_state, v_spec->'having') f;
    end if;

    v_sql := pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(_g.r order by %s), ''[]'') from (
             select %s as r%s from %s where %s %s having %s) _g',
        coalesce((select pg_catalog.string_agg('_g.g' || o, ', ' order by o) from pg_catalog.generate_subscripts(v_groups, 1) o), '1'),
        docpal_private.q_json_object_sql(v_pairs),
        coalesce((select pg_catalog.string_agg(pg_catalog.format(', %s as g%s', g, o), '' order by o)
                    from pg_catalog.unnest(v_groups) with ordinality x(g, o)), ''),
        docpal_private.q_from(v_state, false), v_state->>'where',
        coalesce('group by ' || (select pg_catalog.string_agg(g, ', ') from pg_catalog.unnest(v_groups) g), ''),
        v_having);
    o_sql := v_sql;
    o_params := v_state->'params';
end
$$;
