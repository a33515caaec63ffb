create or replace function docpal_private.q_rows_sql(p_state jsonb)
    returns text
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The statement query_table runs: the page of rows as one JSON array, in
       the order of the sort (aggregated from the ordered subquery). $1 is the
       parameter array. */
    select pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(_q.r), ''[]'') from (select %s as r from %s where %s order by %s limit %s offset %s) _q',
        p_state->>'select', docpal_private.q_from(p_state, false), p_state->>'where', p_state->>'order',
        (p_state->>'limit')::integer, (p_state->>'offset')::bigint)
$$;
