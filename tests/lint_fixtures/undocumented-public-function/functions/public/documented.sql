-- grant: docpal_app
create or replace function docpal.documented(n integer)
    returns integer
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    select n
$$;
