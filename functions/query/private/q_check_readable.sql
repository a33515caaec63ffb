create or replace function docpal_private.q_check_readable(p_state jsonb, p_path text, p_table text, p_segment text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Permissions of one segment of path p_path for a member (p_state.who): the
   table p_table must be readable and the column p_segment in their
   allow-list (system columns always are); 42501 otherwise. Returns the
   state with p_table's permission loaded (docpal_private.q_table_permission). */
begin
    if not p_state->'perms' ? p_table then
        p_state := docpal_private.q_table_permission(p_state, p_table);
    end if;
    if p_state->'perms'->p_table = 'false' then
        raise exception using errcode = '42501',
            message = pg_catalog.format('path %L: permission denied: read on table %s', p_path, p_table);
    end if;
    if p_segment not in ('id', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by')
       and pg_catalog.jsonb_typeof(p_state->'perms'->p_table->'columns') = 'array'
       and not (p_state->'perms'->p_table->'columns' ? p_segment) then
        raise exception using errcode = '42501',
            message = pg_catalog.format('path %L: permission denied: read of column %s of table %s', p_path, p_segment, p_table);
    end if;
    return p_state;
end
$$;
