create or replace function docpal_private.role_name(p_name text, p_what text)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* A valid name for a new custom role or group: ^[a-z][a-z0-9_]{0,62}$ and
   not a built-in role (22023). */
begin
    if p_name is null or p_name !~ '^[a-z][a-z0-9_]{0,62}$' or p_name in ('owner', 'admin', 'member') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s name %L: lowercase letters, digits and _, starting with a letter, not owner, admin or member',
                                        p_what, p_name);
    end if;
    return p_name;
end
$$;
