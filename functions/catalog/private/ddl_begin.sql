create or replace function docpal_private.ddl_begin()
    returns void
    language sql
    set search_path = pg_catalog, pg_temp
as $$
    /* Every schema change starts here: SET LOCAL lock_timeout to the
       platform lock timeout, so a busy table makes the change fail fast
       (55P03) instead of queueing all of the table's traffic behind an
       ACCESS EXCLUSIVE lock request. The public functions that call this
       already run with that value in their SET clause (apply_lock_timeout),
       which also scopes this SET LOCAL to them; this keeps it true for a
       caller without one. Never a session setting: a client could write
       one (the old docpal.ddl_lock_timeout let it wait for ever). */
    select pg_catalog.set_config('lock_timeout',
        coalesce(docpal_private.platform_setting('lock_timeout'), '2s'), true);
    -- with Citus: triggers on distributed tables may be dropped and made
    select docpal_private.citus_ddl();
$$;
