-- grant: docpal_service
create or replace function docpal.definer_with_path(id uuid)
    returns boolean
    language sql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.now() is not null
$$;
