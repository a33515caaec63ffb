create or replace function docpal_private.history_access(
    p_schema text, p_user uuid, p_member_role text, p_scopes text[], p_spec jsonb, p_id uuid)
    returns text[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* What the caller may see of the history of record p_id: null when nothing
   (under a row filter the record must exist now and match it), else the
   columns to leave out of it (those the caller may not read; none for
   owners, admins and grants without a column list). 42501 without read
   permission on the table. */
declare
    v_perm jsonb := docpal_private.require_permission(p_schema, p_user, p_member_role, p_scopes, p_spec->>'slug', 'read');
begin
    if docpal_private.row_hidden(p_schema, p_spec, v_perm, p_id) then
        return null;
    end if;
    return docpal_private.unreadable_columns(p_spec, v_perm);
end
$$;
