create or replace function docpal_private.hidden_columns(
    p_schema text, p_user uuid, p_member_role text, p_scopes text[], p_spec jsonb)
    returns text[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The columns of a table to leave out of a record returned to the caller:
   those their read permission does not include (every column without read
   permission; none for owners and admins). */
declare
    v_perm jsonb;
begin
    if p_member_role in ('owner', 'admin') and (p_scopes is null or 'read' = any (p_scopes)) then
        return '{}';
    end if;
    v_perm := docpal_private.permission(p_schema, p_user, p_member_role, p_scopes, p_spec->>'slug', 'read');
    if v_perm is null then
        return array(select c->>'name' from pg_catalog.jsonb_array_elements(p_spec->'columns') c);
    end if;
    return docpal_private.unreadable_columns(p_spec, v_perm);
end
$$;
