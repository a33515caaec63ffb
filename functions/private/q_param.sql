create or replace function docpal_private.q_param(inout p_state jsonb, p_value jsonb, out o_ref text)
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* Adds a value to the query's parameters and returns the SQL that reads it:
   ($1->N). Every value of a query spec reaches SQL this way, bound, never
   spliced. */
begin
    o_ref := pg_catalog.format('($1->%s)', pg_catalog.jsonb_array_length(p_state->'params'));
    p_state := pg_catalog.jsonb_set(p_state, '{params}', (p_state->'params') || pg_catalog.jsonb_build_array(p_value));
end
$$;
