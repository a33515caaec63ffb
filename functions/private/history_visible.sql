create or replace function docpal_private.history_visible(
    p_schema text, p_user uuid, p_member_role text, p_scopes text[], p_spec jsonb, p_id uuid)
    returns boolean
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether the caller may read the history of record p_id: read permission
   on the table (42501 otherwise) covering every column (an entry shows any
   column, so a column-limited reader gets 42501), and, under a row filter,
   the record must exist now and match it. */
declare
    v_perm jsonb := docpal_private.require_permission(p_schema, p_user, p_member_role, p_scopes, p_spec->>'slug', 'read');
begin
    if v_perm->'columns' is not null and v_perm->'columns' <> 'null' then
        raise exception using errcode = '42501',
            message = pg_catalog.format('the history of table %s needs read permission on every column', p_spec->>'slug');
    end if;
    return v_perm->'row_filter' is null or v_perm->'row_filter' = 'null'
        or docpal_private.row_allowed(p_schema, p_spec, v_perm->'row_filter', p_id);
end
$$;
