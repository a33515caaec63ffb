create or replace function docpal_private.sql_in_variable(p_schema text, p_table text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_declared text := 'drop table ' || p_table;
    v_built text;
    v_safe text := pg_catalog.format('drop table %I.%I', p_schema, p_table);
    v_other text;
    v_local text;
    v_quoted text := 'drop table ' || pg_catalog.quote_ident(p_table);
    v_row record;
begin
    v_built := 'create schema ' || p_schema;
    v_other := pg_catalog.format('select %s', p_table);
    execute v_declared;  -- expect: execute-concatenation
    execute v_built;  -- expect: execute-concatenation
    execute v_safe;
    execute v_other;  -- expect: execute-concatenation
    for v_row in execute v_built loop  -- expect: execute-concatenation
        null;
    end loop;
    v_local := v_safe || ' cascade';
    execute v_local;
    execute v_quoted;
    execute pg_catalog.format('select 1 from %I', p_table);
end
$$;
