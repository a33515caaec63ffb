create or replace function docpal_private.q_join_row_filter(p_state jsonb, p_table text, p_alias text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* For a member (p_state.who) joining related table p_table as p_alias: the
   join condition their row filter of that table adds, as {sql, params}
   (params: p_state's with the filter's values appended), or null without a
   filter (docpal_private.q_row_filter_of_alias). 42501 when the member may not
   read p_table at all. */
declare
    v_perm jsonb := p_state->'perms'->p_table;  -- set by q_table_permission
begin
    if v_perm is null or v_perm = 'false' then
        raise exception using errcode = '42501', message = pg_catalog.format('permission denied: read on table %s', p_table);
    end if;
    if v_perm->'row_filter' is null or v_perm->'row_filter' = 'null' then
        return null;
    end if;
    return docpal_private.q_row_filter_of_alias(p_state, p_table, p_alias, v_perm->'row_filter');
end
$$;
