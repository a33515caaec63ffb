create or replace function docpal_private.q_total(p_state jsonb)
    returns bigint
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* (Volatile: EXPLAIN is refused inside a non-volatile function.)
   The total of a compiled query: count(*) with only the joins the filters
   need (exact), the planner's row estimate (estimated), or null (none). */
declare
    v_from text := docpal_private.q_from(p_state, true);
    v_where text := p_state->>'where';
    v_plan jsonb;
    v_total bigint;
begin
    if p_state->>'count' = 'none' then
        return null;
    elsif p_state->>'count' = 'estimated' then
        execute pg_catalog.format('explain (format json) select 1 from %s where %s', v_from, v_where)
           into v_plan using p_state->'params';
        return pg_catalog.round((v_plan->0->'Plan'->>'Plan Rows')::numeric)::bigint;
    end if;
    execute pg_catalog.format('select pg_catalog.count(*) from %s where %s', v_from, v_where)
       into v_total using p_state->'params';
    return v_total;
end
$$;
