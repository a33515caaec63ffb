create or replace function docpal_private.q_aggregate_statement(
    p_caller jsonb, p_slug text, p_spec jsonb, out o_sql text, out o_params jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The statement docpal.aggregate runs for the spec (o_sql, $1 = o_params), for the
   caller p_caller (docpal_private.require_company() as jsonb, looked up once
   by the public function): everything aggregate does but running it.
   One GROUP BY (_g: the groups as _g1, _g2, ..., the metrics as _m1, _m2,
   ..., each compiled by docpal_private.q_metric_sql), then the expr metrics
   as lateral joins on its rows (docpal_private.q_metric_exprs), then having
   as a WHERE over them (PostgreSQL moves what reads only _g into the
   HAVING), and the JSON of each group. */
declare
    v_spec jsonb := docpal_private.q_check_spec(p_spec);
    v_state jsonb;
    v_path text;
    v_expr text;
    v_kind text;
    v_column jsonb;
    v_select text[] := '{}';    -- the grouped row: groups and metrics
    v_groups text[] := '{}';
    v_pairs text[] := '{}';     -- the JSON of a group
    v_name text;
    v_metric jsonb;
    v_agg text;
    v_paths jsonb := '{}';      -- metric name -> {sql, kind, column}: what having reads
    v_numbers jsonb := '{}';    -- metric name -> {sql, number}: what an expr reads
    v_exprs jsonb := '{}';
    v_laterals text;
    v_refs jsonb;
    v_having text;
    v_r record;
    v_n integer := 0;
begin
    perform docpal_private.q_reject_keys(v_spec, array['columns', 'sort', 'limit', 'offset', 'count'], 'aggregate');
    if pg_catalog.jsonb_typeof(v_spec->'metrics') is distinct from 'object' or v_spec->'metrics' = '{}'::jsonb then
        raise exception using errcode = '22023', message = 'metrics must be an object of name: metric';
    end if;
    -- the filters of count_if and sum_if count with filters and having against the limit of 500
    perform docpal_private.check_spec_size(pg_catalog.jsonb_build_object('filters', pg_catalog.jsonb_build_object('_and',
        pg_catalog.jsonb_build_array(coalesce(v_spec->'filters', '{}'), coalesce(v_spec->'having', '{}'))
        || coalesce((select pg_catalog.jsonb_agg(case e.key when 'count_if' then e.value else e.value->1 end)
                       from pg_catalog.jsonb_each(v_spec->'metrics') m,
                            pg_catalog.jsonb_each(case when pg_catalog.jsonb_typeof(m.value) = 'object' then m.value end) e
                      where e.key in ('count_if', 'sum_if')
                        and pg_catalog.jsonb_typeof(case e.key when 'count_if' then e.value else e.value->1 end) = 'object'),
                    '[]'))), 'query spec');
    v_state := docpal_private.q_compile(p_caller, p_slug, v_spec - 'group_by' - 'metrics' - 'having',
                                        array[]::text[]);
    if v_spec ? 'group_by' and (pg_catalog.jsonb_typeof(v_spec->'group_by') <> 'array'
           or exists (select from pg_catalog.jsonb_array_elements(v_spec->'group_by') g where pg_catalog.jsonb_typeof(g) <> 'string')) then
        raise exception using errcode = '22023', message = 'group_by must be an array of paths';
    end if;
    for v_path in select pg_catalog.jsonb_array_elements_text(coalesce(v_spec->'group_by', '[]')) loop
        select q.p_state, q.o_sql into v_state, v_expr from docpal_private.q_path(v_state, v_path, true) q;
        v_groups := v_groups || v_expr;
        v_select := v_select || pg_catalog.format('%s as _g%s', v_expr, pg_catalog.cardinality(v_groups));
        v_pairs := v_pairs || pg_catalog.format('%L, _g._g%s', v_path, pg_catalog.cardinality(v_groups));
    end loop;

    for v_name, v_metric in select e.key, e.value from pg_catalog.jsonb_each(v_spec->'metrics') e loop
        if v_name !~ '^[a-z][a-z0-9_]{0,62}$' then
            raise exception using errcode = '22023', message = pg_catalog.format('invalid metric name %L', v_name);
        end if;
        if pg_catalog.jsonb_typeof(v_metric) = 'object' and v_metric ? 'expr' then
            if (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(v_metric)) <> 1 then
                raise exception using errcode = '22023', message = pg_catalog.format('metric %s: one of count, sum, ..., expr', v_name);
            end if;
            v_exprs := v_exprs || pg_catalog.jsonb_build_object(v_name, v_metric->'expr');
            continue;
        end if;
        v_r := docpal_private.q_metric_sql(v_state, v_name, v_metric);
        v_state := v_r.p_state;
        v_agg := v_r.o_sql;
        v_kind := v_r.o_kind;
        v_column := v_r.o_column;
        v_n := v_n + 1;
        v_select := v_select || pg_catalog.format('%s as _m%s', v_agg, v_n);
        v_pairs := v_pairs || pg_catalog.format('%L, _g._m%s', v_name, v_n);
        v_paths := v_paths || pg_catalog.jsonb_build_object(v_name, pg_catalog.jsonb_build_object(
            'sql', '_g._m' || v_n, 'kind', v_kind, 'column', v_column));
        v_numbers := v_numbers || pg_catalog.jsonb_build_object(v_name, pg_catalog.jsonb_build_object(
            'sql', '_g._m' || v_n,
            'number', v_kind in ('integer', 'bigint', 'decimal', 'float', 'currency', 'percent', 'rating', 'autonumber')));
    end loop;
    if v_n = 0 then
        raise exception using errcode = '22023', message = 'an aggregate needs a metric that is not an expr';
    end if;
    if v_exprs <> '{}'::jsonb then
        select x.o_laterals, x.o_refs into v_laterals, v_refs from docpal_private.q_metric_exprs(v_exprs, v_numbers) x;
        for v_name, v_expr in select e.key, e.value #>> '{}' from pg_catalog.jsonb_each(v_refs) e loop
            v_pairs := v_pairs || pg_catalog.format('%L, %s', v_name, v_expr);
            v_paths := v_paths || pg_catalog.jsonb_build_object(v_name, pg_catalog.jsonb_build_object(
                'sql', v_expr, 'kind', 'decimal', 'column', '{"type": "decimal"}'::jsonb));
        end loop;
    end if;

    if v_spec ? 'having' then
        -- only metric names: a path would have no meaning after GROUP BY
        if pg_catalog.jsonb_typeof(v_spec->'having') = 'object' and exists (
               select from pg_catalog.jsonb_object_keys(v_spec->'having') k
                where k not in ('_and', '_or', '_not') and not v_paths ? k) then
            raise exception using errcode = '42703', message = 'having names only metrics';
        end if;
        select f.p_state, f.o_sql into v_state, v_having
          from docpal_private.q_filter(v_state || pg_catalog.jsonb_build_object('paths', v_paths), v_spec->'having') f;
    end if;

    o_sql := pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(%s order by %s), ''[]'') from (
             select %s from %s where %s%s) _g%s%s',
        docpal_private.q_json_object_sql(v_pairs),
        coalesce((select pg_catalog.string_agg('_g._g' || o, ', ' order by o) from pg_catalog.generate_subscripts(v_groups, 1) o), '1'),
        pg_catalog.array_to_string(v_select, ', '),
        docpal_private.q_from(v_state, false), v_state->>'where',
        coalesce(' group by ' || (select pg_catalog.string_agg(g, ', ') from pg_catalog.unnest(v_groups) g), ''),
        coalesce(' ' || v_laterals, ''),
        coalesce(' where ' || v_having, ''));
    o_params := v_state->'params';
end
$$;
