create or replace function docpal_private.q_operator_condition(
    inout p_state jsonb, p_expr text, p_kind text, p_column jsonb, p_op text, p_value jsonb, p_label text,
    out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* One operator applied to one path: the SQL condition, with the value bound
   as a parameter and cast to the column's type. 22023 for an operator the
   kind of column does not take, or a value of the wrong kind. Negations
   (neq, nin, ncontains, nstarts_with, nends_with, nbetween) follow SQL: they
   do not match nulls; has_none does, as an empty array (no element in
   common with anything). regex and iregex (POSIX ~ and ~*) take a pattern
   within the limits of contract section 9 (docpal_private.q_check_regex:
   54000, 22023). Values of the comparisons on date, time, datetime and
   uuid paths may be variables ($now, $now(<n> <unit>), $user, $company:
   docpal_private.q_variables). */
declare
    v_type text;          -- the SQL type values are cast to
    v_array boolean := p_kind in ('multi_select', 'relation_many');
    v_text boolean;
    v_ref text;
    v_vals jsonb;
    v_num boolean;
    v_elem text;
    v_count integer;
    v_r record;  -- q_param's result: a plain assignment, not a query per value
    v_exprs text[];  -- per value, the SQL of a variable (q_variables); null: none
    v_terms text[];
    i integer;
begin
    v_type := case
        when p_kind in ('relation', 'user', 'file') then 'uuid'
        when p_kind in ('formula', 'json', 'json_path', 'multi_select', 'relation_many') then null
        -- values compare as the base type: numeric(12,2) would round the value given
        else pg_catalog.regexp_replace(docpal_private.column_sql_type(p_column), '[(].*[)]', '') end;
    v_text := p_kind in ('text', 'long_text', 'rich_text', 'email', 'url', 'phone', 'select', 'color');

    -- operators every kind takes
    if p_op in ('is_null', 'is_empty') then
        if pg_catalog.jsonb_typeof(p_value) <> 'boolean' then
            raise exception using errcode = '22023', message = pg_catalog.format('%s: %s takes true or false', p_label, p_op);
        end if;
        o_sql := case
            when p_op = 'is_null' then pg_catalog.format('%s is null', p_expr)
            when v_array then pg_catalog.format('coalesce(pg_catalog.cardinality(%s), 0) = 0', p_expr)
            when p_kind in ('json', 'json_path') then pg_catalog.format(
                '(%1$s is null or %1$s in (''null''::jsonb, ''""''::jsonb, ''[]''::jsonb, ''{}''::jsonb))', p_expr)
            when v_text then pg_catalog.format('coalesce(%s, '''') = ''''', p_expr)
            else pg_catalog.format('%s is null', p_expr) end;
        if p_value = 'false'::jsonb then
            o_sql := 'not (' || o_sql || ')';
        end if;
        return;
    end if;

    -- json paths: a number compares as a number, a string as text
    if p_kind in ('json', 'json_path') then
        if p_op in ('eq', 'neq') then
            v_r := docpal_private.q_param(p_state, p_value);
            p_state := v_r.p_state;
            v_ref := v_r.o_ref;
            o_sql := pg_catalog.format(case p_op when 'eq' then '%s = %s' else '%s <> %s' end, p_expr, v_ref);
        elsif p_op in ('in', 'nin') then
            if pg_catalog.jsonb_typeof(p_value) <> 'array' then
                raise exception using errcode = '22023', message = pg_catalog.format('%s: %s takes an array', p_label, p_op);
            end if;
            v_r := docpal_private.q_param(p_state, p_value);
            p_state := v_r.p_state;
            v_ref := v_r.o_ref;
            o_sql := pg_catalog.format(case p_op when 'in' then '%1$s in (select pg_catalog.jsonb_array_elements(%2$s))'
                                       else '(%1$s is not null and %1$s not in (select pg_catalog.jsonb_array_elements(%2$s)))' end,
                                       p_expr, v_ref);
        elsif p_op = 'contains' and (p_kind = 'json' or pg_catalog.jsonb_typeof(p_value) in ('object', 'array')) then
            v_r := docpal_private.q_param(p_state, p_value);
            p_state := v_r.p_state;
            v_ref := v_r.o_ref;
            o_sql := pg_catalog.format('%s @> %s', p_expr, v_ref);
        elsif p_kind = 'json' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s: operator %s does not apply to a json column (use a path into it)', p_label, p_op);
        elsif p_op in ('gt', 'gte', 'lt', 'lte', 'between', 'nbetween') then
            v_vals := case when p_op in ('between', 'nbetween') then p_value else pg_catalog.jsonb_build_array(p_value) end;
            v_count := case when p_op in ('between', 'nbetween') then 2 else 1 end;
            if pg_catalog.jsonb_typeof(v_vals) <> 'array' or pg_catalog.jsonb_array_length(v_vals) <> v_count
               or exists (select from pg_catalog.jsonb_array_elements(v_vals) v where pg_catalog.jsonb_typeof(v) not in ('number', 'string'))
               or (select pg_catalog.count(distinct pg_catalog.jsonb_typeof(v)) from pg_catalog.jsonb_array_elements(v_vals) v) > 1 then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('%s: %s takes a number or a string%s', p_label, p_op,
                                                case when p_op in ('between', 'nbetween') then ' pair' else '' end);
            end if;
            v_num := pg_catalog.jsonb_typeof(v_vals->0) = 'number';
            v_elem := case when v_num
                then pg_catalog.format('(case when pg_catalog.jsonb_typeof(%1$s) = ''number'' then (%1$s)::numeric end)', p_expr)
                else pg_catalog.format('(case when pg_catalog.jsonb_typeof(%1$s) = ''string'' then %1$s #>> ''{}'' end)', p_expr) end;
            v_r := docpal_private.q_param(p_state, v_vals);
            p_state := v_r.p_state;
            v_ref := v_r.o_ref;
            o_sql := case
                when p_op in ('between', 'nbetween') then pg_catalog.format(
                    '%1$s %4$s (%2$s->>0)::%3$s and (%2$s->>1)::%3$s', v_elem, v_ref, case when v_num then 'numeric' else 'text' end,
                    case p_op when 'between' then 'between' else 'not between' end)
                else pg_catalog.format('%s %s (%s->>0)::%s', v_elem,
                                       case p_op when 'gt' then '>' when 'gte' then '>=' when 'lt' then '<' else '<=' end,
                                       v_ref, case when v_num then 'numeric' else 'text' end) end;
        elsif p_op in ('like', 'ilike', 'contains', 'icontains', 'ncontains', 'starts_with', 'istarts_with',
                       'nstarts_with', 'ends_with', 'iends_with', 'nends_with', 'regex', 'iregex') then
            if pg_catalog.jsonb_typeof(p_value) <> 'string' then
                raise exception using errcode = '22023', message = pg_catalog.format('%s: %s takes a string', p_label, p_op);
            end if;
            p_expr := pg_catalog.format('(%s #>> ''{}'')', p_expr);
            v_text := true;
        else
            raise exception using errcode = '22023', message = pg_catalog.format('%s: unknown operator %L', p_label, p_op);
        end if;
        if o_sql is not null then
            return;
        end if;
    end if;

    -- text operators
    if p_op in ('like', 'ilike', 'contains', 'icontains', 'ncontains', 'starts_with', 'istarts_with', 'nstarts_with',
                'ends_with', 'iends_with', 'nends_with', 'regex', 'iregex') and not v_array then
        if not v_text then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s: %s applies to text, not %s', p_label, p_op, p_kind);
        end if;
        if pg_catalog.jsonb_typeof(p_value) <> 'string' then
            raise exception using errcode = '22023', message = pg_catalog.format('%s: %s takes a string', p_label, p_op);
        end if;
        if p_op in ('regex', 'iregex') then
            perform docpal_private.q_check_regex(p_value #>> '{}', p_op, p_label);   -- 54000, 22023
        end if;
        v_r := docpal_private.q_param(p_state, p_value);
        p_state := v_r.p_state;
        v_ref := v_r.o_ref;
        o_sql := pg_catalog.format(case p_op
            when 'like' then '%s like (%s #>> ''{}'')'
            when 'ilike' then '%s ilike (%s #>> ''{}'')'
            when 'contains' then 'pg_catalog.strpos(%s, (%s #>> ''{}'')) > 0'
            when 'icontains' then 'pg_catalog.strpos(pg_catalog.lower(%s), pg_catalog.lower(%s #>> ''{}'')) > 0'
            when 'ncontains' then 'pg_catalog.strpos(%s, (%s #>> ''{}'')) = 0'
            when 'starts_with' then 'pg_catalog.starts_with(%s, (%s #>> ''{}''))'
            when 'istarts_with' then 'pg_catalog.starts_with(pg_catalog.lower(%s), pg_catalog.lower(%s #>> ''{}''))'
            when 'nstarts_with' then 'not pg_catalog.starts_with(%s, (%s #>> ''{}''))'
            when 'ends_with' then 'pg_catalog.right(%1$s, pg_catalog.length(%2$s #>> ''{}'')) = (%2$s #>> ''{}'')'
            when 'iends_with'
                then 'pg_catalog.right(pg_catalog.lower(%1$s), pg_catalog.length(%2$s #>> ''{}'')) = pg_catalog.lower(%2$s #>> ''{}'')'
            when 'nends_with' then 'pg_catalog.right(%1$s, pg_catalog.length(%2$s #>> ''{}'')) <> (%2$s #>> ''{}'')'
            when 'regex' then '%s ~ (%s #>> ''{}'')'
            else '%s ~* (%s #>> ''{}'')' end, p_expr, v_ref);
        return;
    end if;

    -- arrays: multi_select and relation_many
    if v_array then
        if p_op not in ('contains', 'has_any', 'has_all', 'has_none', 'eq') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s: operator %L does not apply to %s', p_label, p_op, p_kind);
        end if;
        v_vals := case when pg_catalog.jsonb_typeof(p_value) = 'array' then p_value else pg_catalog.jsonb_build_array(p_value) end;
        if p_op in ('has_any', 'has_all', 'has_none') and pg_catalog.jsonb_typeof(p_value) <> 'array' then
            raise exception using errcode = '22023', message = pg_catalog.format('%s: %s takes an array', p_label, p_op);
        end if;
        if exists (select from pg_catalog.jsonb_array_elements(v_vals) v where pg_catalog.jsonb_typeof(v) <> 'string') then
            raise exception using errcode = '22023', message = pg_catalog.format('%s: %s takes strings', p_label, p_op);
        end if;
        if p_kind = 'relation_many' then
            begin
                perform (select pg_catalog.array_agg((v #>> '{}')::uuid) from pg_catalog.jsonb_array_elements(v_vals) v);
            exception when invalid_text_representation then
                raise exception using errcode = '22023', message = pg_catalog.format('%s: %s takes record ids', p_label, p_op);
            end;
        end if;
        v_r := docpal_private.q_param(p_state, v_vals);
        p_state := v_r.p_state;
        v_ref := v_r.o_ref;
        o_sql := pg_catalog.format('%s %s array(select (_v #>> ''{}'')::%s from pg_catalog.jsonb_array_elements(%s) _v)',
                                   p_expr, case when p_op in ('has_any', 'has_none') then '&&' when p_op = 'eq' then '=' else '@>' end,
                                   case p_kind when 'relation_many' then 'uuid' else 'text' end, v_ref);
        if p_op = 'has_none' then
            -- no element in common: a null array (no values) matches, as an empty one does
            o_sql := 'not coalesce(' || o_sql || ', false)';
        end if;
        return;
    end if;

    -- scalars
    if p_op not in ('eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'between', 'nbetween') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: unknown operator %L for %s', p_label, p_op, p_kind);
    end if;
    v_vals := case when p_op in ('in', 'nin', 'between', 'nbetween') then p_value else pg_catalog.jsonb_build_array(p_value) end;
    if pg_catalog.jsonb_typeof(v_vals) <> 'array'
       or p_op in ('between', 'nbetween') and pg_catalog.jsonb_array_length(v_vals) <> 2
       or exists (select from pg_catalog.jsonb_array_elements(v_vals) v where pg_catalog.jsonb_typeof(v) in ('object', 'array', 'null')) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s takes %s', p_label, p_op,
                                        case p_op when 'between' then 'a pair of values' when 'nbetween' then 'a pair of values'
                                             when 'eq' then 'a value'
                                             when 'neq' then 'a value' when 'in' then 'an array of values'
                                             when 'nin' then 'an array of values' else 'a value' end);
    end if;
    if v_type is null then
        -- formula columns: compare as the column's own type
        execute pg_catalog.format('select pg_catalog.format_type(a.atttypid, a.atttypmod) from pg_catalog.pg_attribute a
                                    where a.attrelid = %L::regclass and a.attname = $1',
                                  pg_catalog.format('%I.%I', p_state->>'schema', p_column->>'_table'))
           into v_type using p_column->>'name';
    end if;
    -- variables: only on the types that take them, and only strings starting with $
    if v_type in ('date', 'time without time zone', 'timestamp with time zone', 'uuid')
       and pg_catalog.jsonb_path_exists(v_vals, '$[*] ? (@ starts with "$")') then
        v_r := docpal_private.q_variables(p_state, v_vals, v_type, p_label);
        p_state := v_r.p_state;
        v_vals := v_r.p_vals;
        v_exprs := v_r.o_sql;
    end if;
    -- (any scalar is valid text: no call for the commonest case)
    if v_type <> 'text' and not docpal_private.q_check_value(v_type, v_vals) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s is not a valid %s value', p_label, p_value, p_kind);
    end if;
    if v_exprs is not null then
        -- some values are SQL expressions (variables): a term per value, the
        -- others read from the values, bound when there are any
        if pg_catalog.cardinality(pg_catalog.array_remove(v_exprs, null)) < pg_catalog.jsonb_array_length(v_vals) then
            v_r := docpal_private.q_param(p_state, v_vals);
            p_state := v_r.p_state;
            v_ref := v_r.o_ref;
        end if;
        for i in 1 .. pg_catalog.jsonb_array_length(v_vals) loop
            -- (a variable's expression is STABLE too: once per statement, as q_cast_sql does)
            v_terms[i] := coalesce('(select ' || v_exprs[i] || ')',
                                   docpal_private.q_cast_sql(pg_catalog.format('%s->>%s', v_ref, i - 1), v_type));
        end loop;
        o_sql := case p_op
            when 'in' then pg_catalog.format('%s in (%s)', p_expr, pg_catalog.array_to_string(v_terms, ', '))
            when 'nin' then pg_catalog.format('(%1$s is not null and %1$s not in (%2$s))', p_expr,
                                              pg_catalog.array_to_string(v_terms, ', '))
            when 'between' then pg_catalog.format('%s between %s and %s', p_expr, v_terms[1], v_terms[2])
            when 'nbetween' then pg_catalog.format('%s not between %s and %s', p_expr, v_terms[1], v_terms[2])
            else pg_catalog.format('%s %s %s', p_expr,
                                   case p_op when 'eq' then '=' when 'neq' then '<>' when 'gt' then '>' when 'gte' then '>='
                                             when 'lt' then '<' else '<=' end, v_terms[1]) end;
        return;
    end if;
    v_r := docpal_private.q_param(p_state, v_vals);
    p_state := v_r.p_state;
    v_ref := v_r.o_ref;
    o_sql := case p_op
        when 'in' then pg_catalog.format('%s = any (array(select (_v #>> ''{}'')::%s from pg_catalog.jsonb_array_elements(%s) _v))',
                                         p_expr, v_type, v_ref)
        -- not null first: with an empty list, <> all would match nulls too
        when 'nin' then pg_catalog.format('(%1$s is not null and %1$s <> all (array(select (_v #>> ''{}'')::%2$s from pg_catalog.jsonb_array_elements(%3$s) _v)))',
                                          p_expr, v_type, v_ref)
        when 'between' then pg_catalog.format('%s between %s and %s', p_expr,
                                              docpal_private.q_cast_sql(v_ref || '->>0', v_type),
                                              docpal_private.q_cast_sql(v_ref || '->>1', v_type))
        when 'nbetween' then pg_catalog.format('%s not between %s and %s', p_expr,
                                               docpal_private.q_cast_sql(v_ref || '->>0', v_type),
                                               docpal_private.q_cast_sql(v_ref || '->>1', v_type))
        else pg_catalog.format('%s %s %s', p_expr,
                               case p_op when 'eq' then '=' when 'neq' then '<>' when 'gt' then '>' when 'gte' then '>='
                                         when 'lt' then '<' else '<=' end, docpal_private.q_cast_sql(v_ref || '->>0', v_type)) end;
end
$$;
