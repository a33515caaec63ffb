create or replace function docpal_private.q_operator_condition(
    inout p_state jsonb, p_expr text, p_kind text, p_column jsonb, p_op text, p_value jsonb, p_label text,
    out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* One operator applied to one path: the SQL condition, with the value bound
   as a parameter and cast to the column's type. 22023 for an operator the
   kind of column does not take, or a value of the wrong kind. */
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
        elsif p_op in ('gt', 'gte', 'lt', 'lte', 'between') then
            v_vals := case p_op when 'between' then p_value else pg_catalog.jsonb_build_array(p_value) end;
            v_count := case p_op when 'between' then 2 else 1 end;
            if pg_catalog.jsonb_typeof(v_vals) <> 'array' or pg_catalog.jsonb_array_length(v_vals) <> v_count
               or exists (select from pg_catalog.jsonb_array_elements(v_vals) v where pg_catalog.jsonb_typeof(v) not in ('number', 'string'))
               or (select pg_catalog.count(distinct pg_catalog.jsonb_typeof(v)) from pg_catalog.jsonb_array_elements(v_vals) v) > 1 then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('%s: %s takes a number or a string%s', p_label, p_op,
                                                case p_op when 'between' then ' pair' else '' end);
            end if;
            v_num := pg_catalog.jsonb_typeof(v_vals->0) = 'number';
            v_elem := case when v_num
                then pg_catalog.format('(case when pg_catalog.jsonb_typeof(%1$s) = ''number'' then (%1$s)::numeric end)', p_expr)
                else pg_catalog.format('(case when pg_catalog.jsonb_typeof(%1$s) = ''string'' then %1$s #>> ''{}'' end)', p_expr) end;
            v_r := docpal_private.q_param(p_state, v_vals);
            p_state := v_r.p_state;
            v_ref := v_r.o_ref;
            o_sql := case p_op
                when 'between' then pg_catalog.format('%1$s between (%2$s->>0)::%3$s and (%2$s->>1)::%3$s',
                                                      v_elem, v_ref, case when v_num then 'numeric' else 'text' end)
                else pg_catalog.format('%s %s (%s->>0)::%s', v_elem,
                                       case p_op when 'gt' then '>' when 'gte' then '>=' when 'lt' then '<' else '<=' end,
                                       v_ref, case when v_num then 'numeric' else 'text' end) end;
        elsif p_op in ('like', 'ilike', 'contains', 'icontains', 'starts_with', 'ends_with') then
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
    if p_op in ('like', 'ilike', 'contains', 'icontains', 'starts_with', 'ends_with') and not v_array then
        if not v_text then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s: %s applies to text, not %s', p_label, p_op, p_kind);
        end if;
        if pg_catalog.jsonb_typeof(p_value) <> 'string' then
            raise exception using errcode = '22023', message = pg_catalog.format('%s: %s takes a string', p_label, p_op);
        end if;
        v_r := docpal_private.q_param(p_state, p_value);
        p_state := v_r.p_state;
        v_ref := v_r.o_ref;
        o_sql := pg_catalog.format(case p_op
            when 'like' then '%s like (%s #>> ''{}'')'
            when 'ilike' then '%s ilike (%s #>> ''{}'')'
            when 'contains' then 'pg_catalog.strpos(%s, (%s #>> ''{}'')) > 0'
            when 'icontains' then 'pg_catalog.strpos(pg_catalog.lower(%s), pg_catalog.lower(%s #>> ''{}'')) > 0'
            when 'starts_with' then 'pg_catalog.starts_with(%s, (%s #>> ''{}''))'
            else 'pg_catalog.right(%1$s, pg_catalog.length(%2$s #>> ''{}'')) = (%2$s #>> ''{}'')' end, p_expr, v_ref);
        return;
    end if;

    -- arrays: multi_select and relation_many
    if v_array then
        if p_op not in ('contains', 'has_any', 'has_all', 'eq') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s: operator %L does not apply to %s', p_label, p_op, p_kind);
        end if;
        v_vals := case when pg_catalog.jsonb_typeof(p_value) = 'array' then p_value else pg_catalog.jsonb_build_array(p_value) end;
        if p_op in ('has_any', 'has_all') and pg_catalog.jsonb_typeof(p_value) <> 'array' then
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
                                   p_expr, case p_op when 'has_any' then '&&' when 'eq' then '=' else '@>' end,
                                   case p_kind when 'relation_many' then 'uuid' else 'text' end, v_ref);
        return;
    end if;

    -- scalars
    if p_op not in ('eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'between') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: unknown operator %L for %s', p_label, p_op, p_kind);
    end if;
    v_vals := case when p_op in ('in', 'nin', 'between') then p_value else pg_catalog.jsonb_build_array(p_value) end;
    if pg_catalog.jsonb_typeof(v_vals) <> 'array'
       or p_op = 'between' and pg_catalog.jsonb_array_length(v_vals) <> 2
       or exists (select from pg_catalog.jsonb_array_elements(v_vals) v where pg_catalog.jsonb_typeof(v) in ('object', 'array', 'null')) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s takes %s', p_label, p_op,
                                        case p_op when 'between' then 'a pair of values' when 'eq' then 'a value'
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
    -- (any scalar is valid text: no call for the commonest case)
    if v_type <> 'text' and not docpal_private.q_check_value(v_type, v_vals) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s is not a valid %s value', p_label, p_value, p_kind);
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
        when 'between' then pg_catalog.format('%1$s between (%2$s->>0)::%3$s and (%2$s->>1)::%3$s', p_expr, v_ref, v_type)
        else pg_catalog.format('%s %s (%s->>0)::%s', p_expr,
                               case p_op when 'eq' then '=' when 'neq' then '<>' when 'gt' then '>' when 'gte' then '>='
                                         when 'lt' then '<' else '<=' end, v_ref, v_type) end;
end
$$;
