create or replace function docpal_private.ddl_begin()
    returns void
    language sql
    set search_path = pg_catalog, pg_temp
as $$
    /* Every schema change starts here: SET LOCAL lock_timeout, so a busy
       table makes the change fail fast (55P03) instead of queueing all of
       the table's traffic behind an ACCESS EXCLUSIVE lock request.
       docpal.ddl_lock_timeout overrides the default of 3s. */
    select pg_catalog.set_config('lock_timeout',
        coalesce(nullif(pg_catalog.current_setting('docpal.ddl_lock_timeout', true), ''), '3s'), true);
$$;
