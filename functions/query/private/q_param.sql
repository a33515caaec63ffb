create or replace function docpal_private.q_param(inout p_state jsonb, p_value jsonb, out o_ref text)
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* Adds a value to the query's parameters and returns the SQL that reads it:
   ($1->N). Every value of a query spec reaches SQL this way, bound, never
   spliced. N counts from p_state.base when set: a filter being compiled
   keeps only its latest parameters in the state and gathers the rest
   itself (docpal_private.q_filter), so that adding one stays cheap. */
begin
    o_ref := pg_catalog.format('($1->%s)', coalesce((p_state->>'base')::integer, 0)
                                            + pg_catalog.jsonb_array_length(p_state->'params'));
    p_state := pg_catalog.jsonb_set(p_state, '{params}', (p_state->'params') || pg_catalog.jsonb_build_array(p_value));
end
$$;
