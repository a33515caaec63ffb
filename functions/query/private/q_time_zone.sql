create or replace function docpal_private.q_time_zone(inout p_state jsonb, out o_ref text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The parameter holding the company's time zone (settings.time_zone,
   default UTC), in which functions of datetime paths (year(p), date(p) ...)
   read them: looked up and bound once per statement, its reference kept in
   p_state.tz. */
declare
    v_r record;
begin
    o_ref := p_state->>'tz';
    if o_ref is null then
        v_r := docpal_private.q_param(p_state, pg_catalog.to_jsonb(docpal_private.company_time_zone(p_state->>'schema')));
        p_state := v_r.p_state || pg_catalog.jsonb_build_object('tz', v_r.o_ref);
        o_ref := v_r.o_ref;
    end if;
end
$$;
