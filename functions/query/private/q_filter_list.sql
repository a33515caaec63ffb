create or replace function docpal_private.q_filter_list(inout p_state jsonb, p_items jsonb, p_join text, p_depth integer,
                                                        out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The filters p_items (a JSON array of filter objects, each at depth
   p_depth) as one SQL condition: each object's keys ANDed, the objects
   joined by p_join ('and' or 'or'); p_join null: p_items holds one object,
   returned as it is (docpal_private.q_filter). A key is a path (a literal
   for equality, null for is_null, or an object of operators) or _and / _or
   (arrays of filters) / _not (a filter). In p_state.paths (when present) a
   path is first mapped to another expression: aggregate's having uses it
   for metric names.
   Linear in the filter: every key of every object of the list comes from
   one scan, and the conditions are compiled here, not in a call per object;
   the state passed to each condition carries only the parameters that
   condition adds (p_state.base numbers them), gathered here in an array,
   as the SQL pieces are, and joined once at the end. (Copying a state that
   held every parameter so far, once per condition, made a long _or
   quadratic: 8,000 conditions took 13 to 41 s.) Each distinct path is
   resolved (q_path: SQL, kind, column, cell mask) once per list and reused;
   an equality with a valid scalar (the commonest condition) is compiled
   here, as q_operator_condition and q_param would, without a call or a copy of the
   state: a member's 500-condition _or took 0.17 ms a condition, most of it
   in three calls per condition each copying the whole state. */
declare
    v_ord bigint;
    v_last bigint := 0;
    v_item jsonb;
    v_key text;
    v_value jsonb;
    v_items text[] := '{}';       -- the SQL of each object
    v_parts text[] := '{}';       -- the SQL of each key of the current object
    v_op text;
    v_arg jsonb;
    v_expr text;
    v_kind text;
    v_column jsonb;
    v_outer jsonb;                -- the caller's parameters, handed back at the end
    v_outer_base jsonb := p_state->'base';
    v_base integer;               -- the index of this list's first parameter
    v_params jsonb[] := '{}';     -- this list's parameters, in order
    v_added integer;
    v_r record;
    k integer;
    v_paths jsonb := '{}';        -- each path resolved so far: sql, kind, column, joined, type
    v_hit jsonb;
    v_type text;
    v_had integer;
    v_synced integer := 0;        -- the parameters of v_params p_state.base counts
begin
    if p_depth > 32 then
        raise exception using errcode = '22023', message = 'filters are nested too deep';
    end if;
    if p_join is not null and (pg_catalog.jsonb_typeof(p_items) is distinct from 'array' or pg_catalog.jsonb_array_length(p_items) = 0) then
        raise exception using errcode = '22023', message = pg_catalog.format('_%s takes a non-empty array of filters', p_join);
    end if;
    v_outer := coalesce(p_state->'params', '[]');
    v_base := coalesce((p_state->>'base')::integer, 0) + pg_catalog.jsonb_array_length(v_outer);
    p_state := p_state || pg_catalog.jsonb_build_object('params', '[]'::jsonb, 'base', v_base);
    -- one row per key of each object (one row with a null key for an empty
    -- object), plus a last row (ordinal null) that closes the last object
    for v_ord, v_item, v_key, v_value in
        select r.o, r.item, r.key, r.value
          from (select x.o, x.item, e.key, e.value, e.n
                  from pg_catalog.jsonb_array_elements(p_items) with ordinality x(item, o)
                  left join lateral pg_catalog.jsonb_each(case when pg_catalog.jsonb_typeof(x.item) = 'object' then x.item end)
                                    with ordinality e(key, value, n) on true
                union all
                select null, null, null, null, null) r
         order by r.o nulls last, r.n
    loop
        if v_ord is distinct from v_last and v_last > 0 then
            -- the previous object is complete
            v_items[pg_catalog.cardinality(v_items) + 1] := case when pg_catalog.cardinality(v_parts) = 0 then 'true'
                else '(' || pg_catalog.array_to_string(v_parts, ' and ') || ')' end;
            v_parts := '{}';
        end if;
        exit when v_ord is null;
        v_last := v_ord;
        if pg_catalog.jsonb_typeof(v_item) is distinct from 'object' then
            raise exception using errcode = '22023', message = 'a filter must be a JSON object';
        end if;
        continue when v_key is null;  -- an empty object: no condition
        -- the shortcut below adds parameters without touching the state:
        -- its base is brought up to date before anything else reads it
        -- (a nested list, q_path, q_operator_condition)
        if v_key in ('_and', '_or', '_not') then
            if v_synced <> pg_catalog.cardinality(v_params) then
                p_state := p_state || pg_catalog.jsonb_build_object('base', v_base + pg_catalog.cardinality(v_params));
                v_synced := pg_catalog.cardinality(v_params);
            end if;
        end if;
        if v_key in ('_and', '_or') then
            select f.p_state, f.o_sql into p_state, o_sql
              from docpal_private.q_filter_list(p_state, v_value, pg_catalog.ltrim(v_key, '_'), p_depth + 1) f;
            v_parts[pg_catalog.cardinality(v_parts) + 1] := o_sql;
        elsif v_key = '_not' then
            select f.p_state, f.o_sql into p_state, o_sql
              from docpal_private.q_filter_list(p_state, pg_catalog.jsonb_build_array(v_value), null, p_depth + 1) f;
            v_parts[pg_catalog.cardinality(v_parts) + 1] := 'not (' || o_sql || ')';
        elsif not coalesce(p_state->'paths' ? v_key, false)
              and (pg_catalog.jsonb_typeof(v_value) = 'object' and (v_value ? '_some' or v_value ? '_none' or v_value ? '_every')
                   or v_key ~ '^[a-z][a-z0-9_]*![^.(]*$'
                   or v_key ~ '^[a-z][a-z0-9_]*$'
                      and v_key not in ('id', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by')
                      and not p_state->'specs'->(p_state->>'root')->'columns'
                              @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('name', v_key))) then
            -- a filter by the children of the row (contract 4.1), or a key
            -- that is no column: q_child_filter says which (42703, 22023)
            if v_synced <> pg_catalog.cardinality(v_params) then
                p_state := p_state || pg_catalog.jsonb_build_object('base', v_base + pg_catalog.cardinality(v_params));
                v_synced := pg_catalog.cardinality(v_params);
            end if;
            v_r := docpal_private.q_child_filter(p_state, v_key, v_value, p_depth);
            p_state := v_r.p_state;
            v_parts[pg_catalog.cardinality(v_parts) + 1] := v_r.o_sql;
        else
            v_type := null;
            if p_state->'paths' ? v_key then
                v_expr := p_state->'paths'->v_key->>'sql';
                v_kind := p_state->'paths'->v_key->>'kind';
                v_column := p_state->'paths'->v_key->'column';
            else
                v_hit := v_paths->v_key;
                if v_hit is not null then
                    -- resolved before in this list: what q_path gave then, and
                    -- the one mark it leaves on the state (joins and masks it
                    -- recorded the first time are in the state already)
                    v_expr := v_hit->>'sql';
                    v_kind := v_hit->>'kind';
                    v_column := v_hit->'column';
                    v_type := v_hit->>'type';
                    if (p_state->'joined') is distinct from (v_hit->'joined') then
                        p_state := p_state || pg_catalog.jsonb_build_object('joined', v_hit->'joined');
                    end if;
                else
                    -- (plain assignments: a call in FROM costs a query plan and a tuplestore each time)
                    if v_synced <> pg_catalog.cardinality(v_params) then
                        p_state := p_state || pg_catalog.jsonb_build_object('base', v_base + pg_catalog.cardinality(v_params));
                        v_synced := pg_catalog.cardinality(v_params);
                    end if;
                    v_had := pg_catalog.jsonb_array_length(p_state->'params');
                    v_r := docpal_private.q_path(p_state, v_key, true);
                    p_state := v_r.p_state;
                    v_expr := v_r.o_sql;
                    v_kind := v_r.o_kind;
                    v_column := v_r.o_column;
                    -- the type q_operator_condition casts a scalar to (null: no shortcut)
                    v_type := case
                        when v_column ? '_fn' then null   -- year(p), date(p): q_function_range's
                        when v_kind in ('relation', 'user', 'file') then 'uuid'
                        when v_kind in ('formula', 'json', 'json_path', 'multi_select', 'relation_many') then null
                        else pg_catalog.regexp_replace(docpal_private.column_sql_type(v_column), '[(].*[)]', '') end;
                    -- a path whose SQL took a parameter (a json path) is resolved again each time
                    if pg_catalog.jsonb_array_length(p_state->'params') = v_had then
                        v_paths := v_paths || pg_catalog.jsonb_build_object(v_key, pg_catalog.jsonb_build_object(
                            'sql', v_expr, 'kind', v_kind, 'column', v_column, 'joined', p_state->'joined', 'type', v_type));
                    else
                        v_type := null;
                    end if;
                end if;
            end if;
            if v_type is not null and pg_catalog.jsonb_typeof(v_value) in ('string', 'number', 'boolean')
               and p_state->'params' = '[]'::jsonb
               -- a variable ($now, $user, ...) is q_operator_condition's ('$now' casts to a date!)
               and not (v_type in ('date', 'time without time zone', 'timestamp with time zone', 'uuid')
                        and pg_catalog.starts_with(v_value #>> '{}', '$'))
               and (v_type = 'text' or docpal_private.q_check_value(v_type, pg_catalog.jsonb_build_array(v_value))) then
                -- equality with a valid scalar, the commonest condition: what
                -- q_operator_condition and q_param would make, without copying the state
                v_params := pg_catalog.array_append(v_params, pg_catalog.jsonb_build_array(v_value));
                v_parts[pg_catalog.cardinality(v_parts) + 1] := pg_catalog.format(
                    '%s = %s', v_expr, docpal_private.q_cast_sql(
                        pg_catalog.format('($1->%s)->>0', v_base + pg_catalog.cardinality(v_params) - 1), v_type));
                continue;
            end if;
            if v_synced <> pg_catalog.cardinality(v_params) then
                p_state := p_state || pg_catalog.jsonb_build_object('base', v_base + pg_catalog.cardinality(v_params));
                v_synced := pg_catalog.cardinality(v_params);
            end if;
            if v_value = '{}'::jsonb then
                raise exception using errcode = '22023', message = pg_catalog.format('%s: no operator given', v_key);
            end if;
            -- an object of operators; a literal is an equality, null is is_null
            for v_op, v_arg in select e.key, e.value from pg_catalog.jsonb_each(case
                                   when pg_catalog.jsonb_typeof(v_value) = 'object' then v_value
                                   when v_value = 'null'::jsonb then '{"is_null": true}'::jsonb
                                   else pg_catalog.jsonb_build_object('eq', v_value) end) e loop
                if v_column ? '_fn' then
                    -- year(p), date(p): a range of p where one holds it
                    v_r := docpal_private.q_function_range(p_state, v_column, v_op, v_arg);
                    if v_r.o_sql is not null then
                        p_state := v_r.p_state;
                        v_parts[pg_catalog.cardinality(v_parts) + 1] := v_r.o_sql;
                        continue;
                    end if;
                end if;
                v_r := docpal_private.q_operator_condition(p_state, v_expr, v_kind, v_column, v_op, v_arg, v_key);
                p_state := v_r.p_state;
                v_parts[pg_catalog.cardinality(v_parts) + 1] := v_r.o_sql;
            end loop;
        end if;
        -- gather what the key added (appended in place: no copy of the list)
        v_added := pg_catalog.jsonb_array_length(p_state->'params');
        if v_added > 0 then
            for k in 0 .. v_added - 1 loop
                v_params := pg_catalog.array_append(v_params, p_state->'params'->k);
            end loop;
            p_state := p_state || pg_catalog.jsonb_build_object(
                'params', '[]'::jsonb, 'base', v_base + pg_catalog.cardinality(v_params));
            v_synced := pg_catalog.cardinality(v_params);
        end if;
    end loop;
    o_sql := case when p_join is null then v_items[1]
                  else '(' || pg_catalog.array_to_string(v_items, ' ' || p_join || ' ') || ')' end;
    -- the caller's state again: its parameters followed by this list's
    p_state := (p_state - 'base') || pg_catalog.jsonb_build_object('params', v_outer || pg_catalog.to_jsonb(v_params))
               || case when v_outer_base is null then '{}'::jsonb
                       else pg_catalog.jsonb_build_object('base', v_outer_base) end;
end
$$;
