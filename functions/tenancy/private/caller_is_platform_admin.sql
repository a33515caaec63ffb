create or replace function docpal_private.caller_is_platform_admin()
    returns boolean
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
    /* True when the role that called into docpal is a superuser or acts as
       docpal_service. Inside a SECURITY DEFINER function current_user is the
       owner, so the caller is the SET ROLE role, else the login role. */
    select coalesce(bool_or(r.rolsuper or pg_catalog.pg_has_role(r.oid, 'docpal_service', 'USAGE')), false)
      from pg_catalog.pg_roles r
     where r.rolname = coalesce(nullif(pg_catalog.current_setting('role'), 'none'),
                                pg_catalog."session_user"()::text)
$$;
