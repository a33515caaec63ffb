create or replace function docpal_private.q_filter(inout p_state jsonb, p_filter jsonb, p_depth integer default 0,
                                                   out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A filter object as one SQL condition: each key is a path (with a literal
   for equality, null for is_null, or an object of operators) or _and / _or
   (arrays of filters) / _not (a filter); keys are ANDed. In p_state.paths
   (when present) a path is first mapped to another expression: aggregate's
   having uses it for metric names. */
declare
    v_key text;
    v_value jsonb;
    v_parts text[] := '{}';
    v_sub text;
    v_item jsonb;
    v_op text;
    v_expr text;
    v_kind text;
    v_column jsonb;
begin
    if p_depth > 32 then
        raise exception using errcode = '22023', message = 'filters are nested too deep';
    end if;
    if p_filter is null or pg_catalog.jsonb_typeof(p_filter) <> 'object' then
        raise exception using errcode = '22023', message = 'a filter must be a JSON object';
    end if;
    for v_key, v_value in select e.key, e.value from pg_catalog.jsonb_each(p_filter) e loop
        if v_key in ('_and', '_or') then
            if pg_catalog.jsonb_typeof(v_value) <> 'array' or pg_catalog.jsonb_array_length(v_value) = 0 then
                raise exception using errcode = '22023', message = pg_catalog.format('%s takes a non-empty array of filters', v_key);
            end if;
            v_sub := null;
            for v_item in select pg_catalog.jsonb_array_elements(v_value) loop
                select f.p_state, f.o_sql into p_state, o_sql from docpal_private.q_filter(p_state, v_item, p_depth + 1) f;
                v_sub := coalesce(v_sub || case v_key when '_and' then ' and ' else ' or ' end, '') || o_sql;
            end loop;
            v_parts := v_parts || ('(' || v_sub || ')');
        elsif v_key = '_not' then
            select f.p_state, f.o_sql into p_state, o_sql from docpal_private.q_filter(p_state, v_value, p_depth + 1) f;
            v_parts := v_parts || ('not (' || o_sql || ')');
        else
            if p_state->'paths' ? v_key then
                v_expr := p_state->'paths'->v_key->>'sql';
                v_kind := p_state->'paths'->v_key->>'kind';
                v_column := p_state->'paths'->v_key->'column';
            else
                select q.p_state, q.o_sql, q.o_kind, q.o_column into p_state, v_expr, v_kind, v_column
                  from docpal_private.q_path(p_state, v_key, true) q;
            end if;
            if pg_catalog.jsonb_typeof(v_value) = 'object' then
                if v_value = '{}'::jsonb then
                    raise exception using errcode = '22023', message = pg_catalog.format('%s: no operator given', v_key);
                end if;
                for v_op, v_item in select e.key, e.value from pg_catalog.jsonb_each(v_value) e loop
                    select c.p_state, c.o_sql into p_state, o_sql
                      from docpal_private.q_condition(p_state, v_expr, v_kind, v_column, v_op, v_item, v_key) c;
                    v_parts := v_parts || o_sql;
                end loop;
            else
                select c.p_state, c.o_sql into p_state, o_sql
                  from docpal_private.q_condition(p_state, v_expr, v_kind, v_column,
                                                  case when v_value = 'null'::jsonb then 'is_null' else 'eq' end,
                                                  case when v_value = 'null'::jsonb then 'true'::jsonb else v_value end, v_key) c;
                v_parts := v_parts || o_sql;
            end if;
        end if;
    end loop;
    o_sql := case when pg_catalog.cardinality(v_parts) = 0 then 'true'
                  else '(' || pg_catalog.array_to_string(v_parts, ' and ') || ')' end;
end
$$;
