create or replace function docpal_private.unreadable_columns(p_spec jsonb, p_perm jsonb)
    returns text[]
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The columns of a table a read permission does not include (none when it
   has no column list); system columns are always readable. */
begin
    if p_perm is null or p_perm->'columns' is null or p_perm->'columns' = 'null' then
        return '{}';
    end if;
    return array(select c->>'name' from pg_catalog.jsonb_array_elements(p_spec->'columns') c
                  where not (p_perm->'columns' ? (c->>'name')));
end
$$;
