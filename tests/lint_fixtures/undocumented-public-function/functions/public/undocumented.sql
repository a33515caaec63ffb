-- grant: docpal_app
-- Not in docs/reference.md.
create or replace function docpal.undocumented(n integer)  -- expect: undocumented-public-function
    returns integer
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    select n
$$;
