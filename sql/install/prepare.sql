-- Run first, by the migrating role (a superuser, or a role with CREATEROLE
-- that owns the database), before the install lock is taken: everything
-- the rest of the install stands on. Each statement on its own (autocommit)
-- and a no-op when its object is already right, so that it never waits on
-- a migrate in progress while holding something that migrate needs.
-- Idempotent; two first installs at once may make one fail with a duplicate
-- error, and `docpal migrate` then runs this file again.

-- docpal_owner owns every docpal object, so every SECURITY DEFINER function
-- runs as it: a role that cannot log in, is not a superuser and cannot
-- create roles or databases, so a defect in one of docpal's functions
-- reaches docpal's own schemas and nothing else of the cluster. Its
-- attributes are put back on every run in case someone changed them.
do $$
begin
    if not exists (select from pg_catalog.pg_roles r where r.rolname = 'docpal_owner') then
        create role docpal_owner nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
    end if;
    if exists (select from pg_catalog.pg_roles r
                where r.rolname = 'docpal_owner'
                  and (r.rolcanlogin or r.rolsuper or r.rolcreatedb or r.rolcreaterole
                       or r.rolreplication or r.rolbypassrls)) then
        alter role docpal_owner nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
    end if;
exception when duplicate_object or unique_violation then
    null;  -- another database of the cluster created it at the same moment
end
$$;

-- A migrating role that is not a superuser must be a member to hand objects
-- over and to run the tenant upgrades as docpal_owner (SET ROLE).
do $$
begin
    if not (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user)
       and not pg_catalog.pg_has_role(current_user, 'docpal_owner', 'MEMBER') then
        execute pg_catalog.format('grant docpal_owner to %I', current_user);
    end if;
end
$$;

-- create_company runs as docpal_owner and creates a schema per company.
do $$
begin
    if not pg_catalog.has_database_privilege('docpal_owner', pg_catalog.current_database(), 'CREATE') then
        execute pg_catalog.format('grant create on database %I to docpal_owner', pg_catalog.current_database());
    end if;
end
$$;

-- New schemas start with no privilege for PUBLIC; migration 0001 revokes
-- what an older install granted.
create schema if not exists docpal authorization docpal_owner;
create schema if not exists docpal_private authorization docpal_owner;

-- The install lock: `docpal migrate` holds LOCK TABLE ... IN EXCLUSIVE MODE
-- on it for its whole run, and the psql install script in each of its
-- transactions. Unlike an advisory lock key, which any login can take first
-- and so hang every migrate, no client can lock this table: locking it needs
-- USAGE on docpal_private, which only docpal_owner has.
-- Nothing below may lock the table once it exists (a COMMENT or ALTER would
-- queue behind a running migrate's lock): both happen only on creation.
create table if not exists docpal_private.install_lock ();
do $$
begin
    if (select c.relowner from pg_catalog.pg_class c where c.oid = 'docpal_private.install_lock'::regclass)
       <> 'docpal_owner'::regrole then
        alter table docpal_private.install_lock owner to docpal_owner;
    end if;
    if pg_catalog.obj_description('docpal_private.install_lock'::regclass, 'pg_class') is null then
        comment on table docpal_private.install_lock is
            'Locked by docpal migrate and the install script for their whole run; never holds rows.';
    end if;
end
$$;

-- A signed context names the session it was issued to by its backend's pid
-- and start time (docpal_private.session_tag). PostgreSQL shows a session's
-- start only to roles with the privileges of the session's login (or
-- pg_read_all_stats), which docpal_owner, rightly, does not have. This one
-- function, owned by a role that has only pg_read_all_stats and owns
-- nothing else, returns the start of the calling backend, nothing more; a
-- schema of its own keeps it out of docpal_owner's hands (docpal_owner may
-- call it, and cannot change it).
do $$
begin
    if not exists (select from pg_catalog.pg_roles r where r.rolname = 'docpal_session') then
        create role docpal_session nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
    end if;
    if not pg_catalog.pg_has_role('docpal_session', 'pg_read_all_stats', 'MEMBER') then
        grant pg_read_all_stats to docpal_session;
    end if;
exception when duplicate_object or unique_violation then
    null;  -- another database of the cluster created it at the same moment
end
$$;
create schema if not exists docpal_session authorization docpal_session;
do $$
declare
    v_body constant text := '
begin
    return (select a.backend_start from pg_catalog.pg_stat_get_activity(pg_catalog.pg_backend_pid()) a);
end
';
    v_current text := (select p.prosrc from pg_catalog.pg_proc p
                        where p.oid = pg_catalog.to_regprocedure('docpal_session.backend_start()'));
begin
    if v_current is distinct from v_body then
        execute pg_catalog.format($f$
            create or replace function docpal_session.backend_start()
                returns timestamptz
                language plpgsql stable security definer
                set search_path = pg_catalog, pg_temp
            as %L $f$, v_body);
        alter function docpal_session.backend_start() owner to docpal_session;
        revoke all on function docpal_session.backend_start() from public;
        grant execute on function docpal_session.backend_start() to docpal_owner;
        revoke all on schema docpal_session from public;
        grant usage on schema docpal_session to docpal_owner;
    end if;
end
$$;
