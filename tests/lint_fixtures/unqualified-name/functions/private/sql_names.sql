create or replace function docpal_private.sql_names(p_id uuid)
    returns bigint
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
    with m as (select * from docpal_private.memberships)
    select count(*)
      from m
      join companies c on c.id = m.company_id  -- expect: unqualified-name
     where m.user_id = p_id
       and docpal_private.caller_is_platform_admin()
       and not is_blocked(p_id)  -- expect: unqualified-name
$$;
