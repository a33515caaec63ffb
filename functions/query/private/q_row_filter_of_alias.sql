create or replace function docpal_private.q_row_filter_of_alias(p_state jsonb, p_table text, p_alias text, p_filter jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A permission's filter p_filter (unchecked: it may name columns the member
   cannot read) of table p_table, as a condition on the row p_alias of a
   query: {sql: "p_alias.id in (select ...)", params: p_state's parameters
   with the filter's values appended}. The filter is compiled in a state of
   its own rooted at p_table, numbering its parameters after p_state's. */
declare
    v_sub jsonb;
    v_where text;
begin
    v_sub := docpal_private.q_state(p_state->>'schema', p_table, p_state->'specs', null, null,
                                    p_state->'params', (p_state->>'base')::integer)
             || '{"unchecked": true}'::jsonb;
    select f.p_state, f.o_sql into v_sub, v_where from docpal_private.q_filter(v_sub, p_filter) f;
    return pg_catalog.jsonb_build_object(
        'sql', pg_catalog.format('%I.id in (select _t.id from %s where %s)', p_alias, docpal_private.q_from(v_sub, false), v_where),
        'params', v_sub->'params');
end
$$;
