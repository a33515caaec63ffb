create or replace function docpal_private.citus_installed()
    returns boolean
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
    /* Whether this database has the citus extension: the one test of every
       Citus path (contract section 10). Never a setting: a client can make
       any setting exist, but not an extension. */
    select exists (select from pg_catalog.pg_extension e where e.extname = 'citus');
$$;
