create or replace function docpal_private.apply_lock_timeout()
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Writes the platform lock timeout (platform setting lock_timeout) into the
   SET clause of every function in schema docpal, and of every function in
   docpal_private that declares a lock_timeout of its own (which opts it in:
   private functions run directly by the platform, like apply_tenant_steps
   or company_lock). A SET clause holds while the function runs, whatever
   the caller's session says (a client's `set lock_timeout = 0` included),
   so docpal never waits on a lock longer than this, and then fails with
   55P03 (its transaction rolls back: nothing changed). Trigger functions
   and the other private helpers inherit it from the docpal function they
   run under, and pay no per-call setting switch.

   CREATE OR REPLACE FUNCTION resets a SET clause, so this runs at the end
   of every install (sql/install/lock_timeout.sql) and whenever the setting
   changes (docpal.set_platform_setting). Procedures are left out: a SET
   clause would forbid their COMMITs. Functions already right are not
   touched. Returns the number of functions altered. */
declare
    v_value text := coalesce(docpal_private.platform_setting('lock_timeout'), '2s');
    v_proc regprocedure;
    v_count integer := 0;
begin
    for v_proc in
        select p.oid::regprocedure
          from pg_catalog.pg_proc p
         where p.prokind = 'f'
           and (p.pronamespace = 'docpal'::regnamespace
                or p.pronamespace = 'docpal_private'::regnamespace
                   and exists (select from pg_catalog.unnest(p.proconfig) c where c like 'lock\_timeout=%'))
           -- A SET clause reverts every set_config(..., true) made inside the
           -- function when it returns: the functions that write the
           -- transaction-scoped context must keep none (they take no locks).
           and not (p.pronamespace = 'docpal'::regnamespace
                    and p.proname in ('set_context', 'authenticate', 'clear_context'))
           and not exists (select from pg_catalog.unnest(p.proconfig) c where c = 'lock_timeout=' || v_value)
           and not exists (select from pg_catalog.pg_depend d
                            where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
         order by p.oid
    loop
        execute pg_catalog.format('alter function %s set lock_timeout = %L', v_proc, v_value);
        v_count := v_count + 1;
    end loop;
    return v_count;
end
$$;
