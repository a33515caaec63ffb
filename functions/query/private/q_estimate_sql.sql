create or replace function docpal_private.q_estimate_sql(p_state jsonb)
    returns text
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The EXPLAIN whose row estimate is the total of a query with count
       estimated ($1: p_state.params), as docpal_private.q_estimated_total
       runs it and explain_query shows it. */
    select pg_catalog.format('explain (format json) select 1 from %s where %s',
                             docpal_private.q_from(p_state, true), p_state->>'where')
$$;
