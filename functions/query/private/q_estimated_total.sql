create or replace function docpal_private.q_estimated_total(p_state jsonb)
    returns bigint
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* (Volatile: EXPLAIN is refused inside a non-volatile function.)
   The planner's row estimate of a compiled query with count estimated
   (null for any other count): EXPLAIN of select 1 with only the joins the
   filters need. query_table binds it as $2 of its statement
   (docpal_private.q_table_statement). */
declare
    v_plan jsonb;
begin
    if p_state->>'count' is distinct from 'estimated' then
        return null;
    end if;
    execute docpal_private.q_estimate_sql(p_state) into v_plan using p_state->'params';
    return pg_catalog.round((v_plan->0->'Plan'->>'Plan Rows')::numeric)::bigint;
end
$$;
