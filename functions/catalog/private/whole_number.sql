create or replace function docpal_private.whole_number(p_value jsonb, p_min numeric, p_max numeric default null)
    returns boolean
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether p_value is a JSON number that is whole and from p_min to p_max
   (no upper bound when p_max is null): the test behind every "a whole
   number of at least ..." check of a spec. False for anything else, a JSON
   null or string included; the caller raises its own 22023. */
declare
    v_number numeric;
begin
    if pg_catalog.jsonb_typeof(p_value) is distinct from 'number' then
        return false;
    end if;
    v_number := p_value #>> '{}';
    return v_number >= p_min and (p_max is null or v_number <= p_max) and v_number = pg_catalog.trunc(v_number);
end
$$;
