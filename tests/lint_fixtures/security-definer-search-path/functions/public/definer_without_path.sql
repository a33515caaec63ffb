-- grant: docpal_service
-- A SECURITY DEFINER function must pin its search_path.
create or replace function docpal.definer_without_path(id uuid)  -- expect: security-definer-search-path
    returns boolean
    language sql stable
    security definer
as $$
    select pg_catalog.now() is not null
$$;
