-- grant: docpal_service
create or replace function docpal.installed_version()
    returns text
    language sql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
    /* The docpal version `docpal migrate` last installed (null before the
       first): docpal serve's /readyz compares it with its own package
       version, so a server whose database still needs a migration says it
       is not ready. */
    select m.value from docpal_private.meta m where m.key = 'version'
$$;
