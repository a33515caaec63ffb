create or replace function docpal_private.several_statements(p_schema text, p_table text)
    returns setof record
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_sql text := 'select 1';
    v_row record;
    v_statement text;
    v_columns text := 'id integer';
begin
    execute 'create schema a; create schema b';  -- expect: execute-one-statement
    execute pg_catalog.format('drop table %I.%I; drop function %I.%I()',  -- expect: execute-one-statement
                              p_schema, p_table, p_schema, p_table);
    -- %s standing for a clause does not parse: the scanner counts the semicolons
    execute pg_catalog.format('create table %I.%I (%s); comment on table %I.%I is %L',  -- expect: execute-one-statement
                              p_schema, p_table, v_columns, p_schema, p_table, 'x');
    for v_row in execute pg_catalog.format('select 1; select * from %I.%I', p_schema, p_table) loop  -- expect: execute-one-statement
        null;
    end loop;
    return query execute 'set local jit = off; select 1';  -- expect: execute-one-statement
    -- one statement each
    execute pg_catalog.format('drop table %I.%I', p_schema, p_table);
    execute 'select 1;';
    execute 'select ''a; b''';
    execute pg_catalog.format('select %L, ''%%s; %%s''', 'a;b');
    execute pg_catalog.format('create function %I.f() returns int language plpgsql as $f$
        begin
            perform 1;
            return 2;
        end $f$', p_schema);
    execute pg_catalog.format('create table %I.%I (%s)', p_schema, p_table, v_columns);
    -- not constant text: not judged here
    execute v_sql;
    foreach v_statement in array array['select 1', 'select 2'] loop
        execute v_statement;
    end loop;
end
$$;
