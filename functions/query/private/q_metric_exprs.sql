create or replace function docpal_private.q_metric_exprs(
    p_exprs jsonb, p_metrics jsonb, out o_laterals text, out o_refs jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The expr metrics of docpal.aggregate, p_exprs ({name: formula}), over the
   other metrics p_metrics ({name: {sql, number}}: sql reads the metric's
   value from the grouped row _g). Returns the lateral joins that compute
   them after GROUP BY (o_laterals: one, _v, that gives every number metric
   a formula refers to as numeric under its own name, then one per expr,
   _e1, _e2, ..., each exposing the expr under its name) and o_refs
   ({name: SQL reading the expr's value}, for the JSON and for having).
   A formula is parsed by the formula compiler of formula columns
   (docpal_private.formula_sql, p_metrics on: numbers are numeric and a
   division by zero is null); the names it refers to are its name tokens not
   followed by "(" (docpal_private.formula_tokens). An expr may refer to
   another expr: they are computed in dependency order.
   42703: a name that is no metric. 22023: a formula that does not parse, a
   metric that is not a number (min of a text column, a percentile of
   dates), an expr that refers to itself or exprs that refer to each other,
   a formula whose value is not a number. */
declare
    v_name text;
    v_expr jsonb;
    v_tokens text[];
    v_refs jsonb := '{}';       -- expr name -> the names it refers to
    v_ref text;
    v_cast text[] := '{}';      -- the _v columns
    v_done text[] := '{}';
    v_ready text[];
    v_sql text;
    v_type text;
    v_trial text;
    v_layers text[] := '{}';
    v_n integer := 0;           -- exprs computed so far
begin
    o_refs := '{}';
    for v_name, v_expr in select e.key, e.value from pg_catalog.jsonb_each(p_exprs) e order by e.key loop
        if pg_catalog.jsonb_typeof(v_expr) <> 'string' then
            raise exception using errcode = '22023', message = pg_catalog.format('metric %s: expr takes a formula (a string)', v_name);
        end if;
        v_tokens := docpal_private.formula_tokens(v_expr #>> '{}');
        v_refs := v_refs || pg_catalog.jsonb_build_object(v_name, (
            select coalesce(pg_catalog.jsonb_agg(distinct t.t), '[]')
              from pg_catalog.unnest(v_tokens) with ordinality t(t, i)
             where t.t ~ '^[A-Za-z_]' and v_tokens[t.i + 1] is distinct from '('));
        for v_ref in select pg_catalog.jsonb_array_elements_text(v_refs->v_name) loop
            if not (p_metrics ? v_ref or p_exprs ? v_ref) then
                raise exception using errcode = '42703',
                    message = pg_catalog.format('metric %s: expr refers to %s, which is not a metric of this aggregate', v_name, v_ref);
            end if;
            if p_metrics ? v_ref and not (p_metrics->v_ref->>'number')::boolean then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('metric %s: expr refers to %s, which is not a number', v_name, v_ref);
            end if;
            if p_metrics ? v_ref and not pg_catalog.format('%s::numeric as %I', p_metrics->v_ref->>'sql', v_ref) = any (v_cast) then
                v_cast := v_cast || pg_catalog.format('%s::numeric as %I', p_metrics->v_ref->>'sql', v_ref);
                v_done := v_done || v_ref;
            end if;
        end loop;
    end loop;
    if pg_catalog.cardinality(v_cast) > 0 then
        v_layers := v_layers || pg_catalog.format('cross join lateral (select %s) _v', pg_catalog.array_to_string(v_cast, ', '));
    end if;

    -- dependency order: each round computes the exprs whose references are all known
    loop
        select pg_catalog.array_agg(e.key order by e.key) into v_ready
          from pg_catalog.jsonb_each(v_refs) e
         where e.key <> all (v_done)
           and not exists (select from pg_catalog.jsonb_array_elements_text(e.value) r where r <> all (v_done));
        exit when v_ready is null;
        foreach v_name in array v_ready loop
            v_sql := docpal_private.formula_sql(p_exprs->>v_name,
                                                array(select pg_catalog.jsonb_array_elements_text(v_refs->v_name)), true);
            -- its type, from a run over nulls (the SQL is the formula compiler's: names, numbers,
            -- quoted strings and allow-listed functions only); a call of a function on the wrong
            -- type, a string that is no number, is the spec's mistake
            v_trial := pg_catalog.format('select pg_catalog.pg_typeof(%s)::text', v_sql)
                       || coalesce(' from (select ' || (select pg_catalog.string_agg(pg_catalog.format('null::numeric as %I', r), ', ')
                                                          from pg_catalog.jsonb_array_elements_text(v_refs->v_name) r) || ') _v', '');
            begin
                execute v_trial into v_type;
            exception when others then
                raise exception using errcode = '22023', message = pg_catalog.format('metric %s: %s', v_name, sqlerrm);
            end;
            if v_type not in ('numeric', 'integer', 'bigint', 'smallint', 'double precision', 'real') then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('metric %s: expr must give a number, not %s', v_name, v_type);
            end if;
            v_n := v_n + 1;
            v_layers := v_layers || pg_catalog.format('cross join lateral (select (%s)::numeric as %I) _e%s', v_sql, v_name, v_n);
            o_refs := o_refs || pg_catalog.jsonb_build_object(v_name, pg_catalog.format('_e%s.%I', v_n, v_name));
            v_done := v_done || v_name;
        end loop;
    end loop;
    if exists (select from pg_catalog.jsonb_object_keys(p_exprs) k where k <> all (v_done)) then
        raise exception using errcode = '22023', message = pg_catalog.format(
            'metrics %s: an expr cannot refer to itself, nor exprs to each other in a circle',
            (select pg_catalog.string_agg(k, ', ' order by k) from pg_catalog.jsonb_object_keys(p_exprs) k where k <> all (v_done)));
    end if;
    o_laterals := pg_catalog.array_to_string(v_layers, ' ');
end
$$;
