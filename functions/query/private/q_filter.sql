create or replace function docpal_private.q_filter(inout p_state jsonb, p_filter jsonb, p_depth integer default 0,
                                                   out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A filter object as one SQL condition: each key is a path (with a literal
   for equality, null for is_null, or an object of operators) or _and / _or
   (arrays of filters) / _not (a filter); keys are ANDed. In p_state.paths
   (when present) a path is first mapped to another expression: aggregate's
   having uses it for metric names. The work is docpal_private.q_filter_list's,
   which compiles a whole _and/_or list in one call, in time linear in it. */
begin
    if p_filter is null or pg_catalog.jsonb_typeof(p_filter) <> 'object' then
        raise exception using errcode = '22023', message = 'a filter must be a JSON object';
    end if;
    select f.p_state, f.o_sql into p_state, o_sql
      from docpal_private.q_filter_list(p_state, pg_catalog.jsonb_build_array(p_filter), null, p_depth) f;
end
$$;
