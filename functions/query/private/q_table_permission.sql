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
        p_state->>'schema', (p_state->'who'->>'user_id')::uuid, p_state->'who'->>'role',
        case when pg_catalog.jsonb_typeof(p_state->'who'->'scopes') = 'array'
             then array(select pg_catalog.jsonb_array_elements_text(p_state->'who'->'scopes')) end,
        p_table, 'read'), 'false'));
end
$$;
