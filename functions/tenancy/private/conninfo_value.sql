create or replace function docpal_private.conninfo_value(p_value text)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* A libpq connection-string value, single-quoted with \ and ' escaped. */
begin
    return '''' || pg_catalog.replace(pg_catalog.replace(p_value, pg_catalog.chr(92), pg_catalog.repeat(pg_catalog.chr(92), 2)), '''', pg_catalog.chr(92) || '''') || '''';
end
$$;
