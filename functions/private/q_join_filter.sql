create or replace function docpal_private.q_join_filter(p_state jsonb, p_table text, p_alias text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* For a member (p_state.who) joining related table p_table as p_alias: the
   join condition their row filter of that table adds, as {sql, params}
   (params: p_state's with the filter's values appended), or null without a
   filter. The filter is compiled in a state of its own rooted at p_table
   and applied as "p_alias.id in (select ...)". 42501 when the member may not
   read p_table at all. */
declare
    v_perm jsonb := p_state->'perms'->p_table;  -- set by q_table_perm
    v_sub jsonb;
    v_where text;
begin
    if v_perm is null or v_perm = 'false' then
        raise exception using errcode = '42501', message = pg_catalog.format('permission denied: read on table %s', p_table);
    end if;
    if v_perm->'row_filter' is null or v_perm->'row_filter' = 'null' then
        return null;
    end if;
    v_sub := pg_catalog.jsonb_build_object('schema', p_state->>'schema', 'root', p_table, 'specs', p_state->'specs',
                                           'joins', '{}'::jsonb, 'params', p_state->'params', 'unchecked', true);
    select f.p_state, f.o_sql into v_sub, v_where from docpal_private.q_filter(v_sub, v_perm->'row_filter') f;
    return pg_catalog.jsonb_build_object(
        'sql', pg_catalog.format('%I.id in (select _t.id from %s where %s)', p_alias, docpal_private.q_from(v_sub, false), v_where),
        'params', v_sub->'params');
end
$$;
