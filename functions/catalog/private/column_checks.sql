create or replace function docpal_private.column_checks(p_schema text, p_column jsonb)
    returns table (rule text, expression text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The CHECK expressions that enforce a column's rules, one per rule; the
   rule name is what a 23514 error reports. */
declare
    v_col text := pg_catalog.format('%I', p_column->>'name');
    v_type text := p_column->>'type';
    v_sql_type text := docpal_private.column_sql_type(p_column);
    v_options text[];
begin
    if v_type = 'rating' then
        rule := 'min'; expression := v_col || ' >= 0'; return next;
        rule := 'max'; expression := pg_catalog.format('%s <= %s', v_col, (p_column->>'max')::integer); return next;
        return;
    end if;
    if p_column ? 'min' then
        rule := 'min'; expression := pg_catalog.format('%s >= %L::%s', v_col, p_column->>'min', v_sql_type); return next;
    end if;
    if p_column ? 'max' then
        rule := 'max'; expression := pg_catalog.format('%s <= %L::%s', v_col, p_column->>'max', v_sql_type); return next;
    end if;
    if p_column ? 'min_length' then
        rule := 'min_length';
        expression := pg_catalog.format('pg_catalog.char_length(%s) >= %s', v_col, (p_column->>'min_length')::integer);
        return next;
    end if;
    if p_column ? 'max_length' then
        rule := 'max_length';
        expression := pg_catalog.format('pg_catalog.char_length(%s) <= %s', v_col, (p_column->>'max_length')::integer);
        return next;
    end if;
    if p_column ? 'pattern' then
        rule := 'pattern'; expression := pg_catalog.format('%s ~ %L', v_col, p_column->>'pattern'); return next;
    end if;
    if v_type in ('email', 'url', 'phone', 'color') then
        rule := 'format';
        expression := pg_catalog.format('%s ~ %L', v_col, case v_type
            when 'email' then '^[^@[:space:]]+@[^@[:space:]]+[.][^@[:space:]]+$'
            when 'url' then '^[Hh][Tt][Tt][Pp][Ss]?://[^[:space:]/?#]+[^[:space:]]*$'
            when 'phone' then '^(?=.*[0-9])[+]?[0-9 ()./-]{3,30}$'
            else '^#[0-9A-Fa-f]{6}$' end);
        return next;
    end if;
    if v_type in ('select', 'multi_select') then
        v_options := docpal_private.column_options(p_schema, p_column);
        rule := 'options';
        expression := pg_catalog.format(case v_type when 'select' then '%s = any (%L::text[])' else '%s <@ %L::text[]' end,
                                        v_col, v_options::text);
        return next;
    end if;
end
$$;
