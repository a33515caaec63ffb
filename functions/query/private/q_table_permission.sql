create or replace function docpal_private.q_table_permission(p_state jsonb, p_table text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The compiler state with the member's (p_state.who) read permission of
   p_table in p_state.perms: the permission, or false when denied. Looked up
   once per table and query (q_path checks paths against it, q_join_row_filter
   takes its row filter). */
begin
    if p_state->'perms' ? p_table then
        return p_state;
    end if;
    return pg_catalog.jsonb_set(p_state, array['perms', p_table], coalesce(docpal_private.permission(
        docpal_private.q_caller(p_state->'who' || pg_catalog.jsonb_build_object(
            'schema_name', p_state->'schema', 'member_role', p_state->'who'->'role')),
        p_table, 'read'), 'false'));
end
$$;
