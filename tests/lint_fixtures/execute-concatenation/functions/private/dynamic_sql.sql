create or replace function docpal_private.dynamic_sql(p_schema text, p_table text, p_where text)
    returns setof record
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_sql text := 'select 1';
    v_row record;
    v_cursor refcursor;
begin
    execute 'create schema ' || p_schema;  -- expect: execute-concatenation
    execute pg_catalog.format('drop table %I.%I', p_schema, p_table);
    execute pg_catalog.format('select %s', p_where);  -- expect: execute-concatenation
    execute format('select %2$s from %1$I', p_table, dynamic_sql.p_where);  -- expect: execute-concatenation
    execute pg_catalog.format('select %s, %L', v_sql, p_where);
    execute pg_catalog.format('select 100%%s, %s', v_sql);
    execute pg_catalog.format('select %*s', 5, $1);  -- expect: execute-concatenation
    for v_row in execute pg_catalog.format('select * from %s', p_table) loop  -- expect: execute-concatenation
        null;
    end loop;
    return query execute 'select * from '
        || pg_catalog.quote_ident(p_table);  -- expect: execute-concatenation
    open v_cursor for execute pg_catalog.format('select %s', $2);  -- expect: execute-concatenation
    execute 'select $1' using p_where;
    execute v_sql;
end
$$;
