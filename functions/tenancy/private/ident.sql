create or replace function docpal_private.ident(variadic p_parts text[])
    returns text
    language sql immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
as $$
    /* An object name from its parts joined by '_', kept within PostgreSQL's
       63-byte limit: a longer name is cut and given a hash of the whole, so
       two long names never collide. */
    select case when pg_catalog.octet_length(v.name) <= 63 then v.name
                else pg_catalog.left(v.name, 54) || '_' || pg_catalog.left(pg_catalog.md5(v.name), 8) end
      from (select pg_catalog.array_to_string(p_parts, '_') as name) v
$$;
