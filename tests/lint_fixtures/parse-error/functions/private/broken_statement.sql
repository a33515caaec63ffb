create or replace function docpal_private.broken_statement()
    returns integer
    language sql
    set search_path = pg_catalog, pg_temp
    as $$ select 1 $$
    returns integer  -- expect: parse-error
    as $$ select 2 $$;
