create or replace function docpal_private.rebac_name(p_name text, p_what text)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* A relation, permission or object type name of ReBAC: lowercase letters,
   digits and _, starting with a letter, at most 63 characters (22023).
   The length is checked apart: a bounded repeat ({0,62}) in the pattern
   costs more than the rest of a check_relation call's validation. */
begin
    if p_name is null or p_name !~ '^[a-z][a-z0-9_]*$' or pg_catalog.length(p_name) > 63 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s %L: lowercase letters, digits and _', p_what, p_name);
    end if;
    return p_name;
end
$$;
