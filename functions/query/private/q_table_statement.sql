create or replace function docpal_private.q_table_statement(p_state jsonb)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The one statement query_table runs for a compiled query (and
   explain_query shows): {rows, total} as one jsonb value, $1 the parameter
   array (p_state.params). The page is docpal_private.q_page_sql's; total is
   count(*) over only the joins the filters need (count exact: page and count
   in one statement, one plan, one execution), null (none), or $2 (estimated:
   the planner's estimate, docpal_private.q_estimated_total, which needs an
   EXPLAIN of its own and is bound as the second parameter). */
begin
    return pg_catalog.format(
        'select pg_catalog.jsonb_build_object(''rows'', (%s), ''total'', %s)',
        docpal_private.q_page_sql(p_state),
        case p_state->>'count'
            when 'none' then 'null::bigint'
            when 'estimated' then '$2::bigint'
            else pg_catalog.format('(select pg_catalog.count(*) from %s where %s)',
                                   docpal_private.q_from(p_state, true), p_state->>'where') end);
end
$$;
