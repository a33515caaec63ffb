create or replace function docpal_private.q_from(p_state jsonb, p_filter_only boolean)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The FROM clause: the root table as _t (p_state.alias in a child query)
   and one LEFT JOIN per relation path, in the order they were made (a
   join's parent comes first). With
   p_filter_only, only the joins a filter uses (and their parents): a join on
   a unique id never changes the row count, so count(*) needs no other. A
   join may carry an extra condition (a member's row filter of the related
   table, from q_join_row_filter); a join to the user reads a subquery of
   the company's members (q_system_field). */
declare
    v_joins text;
begin
    select pg_catalog.string_agg(pg_catalog.format(' left join %s %I on %I.id = %I.%I%s',
               coalesce(j.value->>'source',
                        pg_catalog.format('%I.%I', coalesce(j.value->>'schema', p_state->>'schema'), j.value->>'table')),
               j.value->>'alias',
               j.value->>'alias', j.value->>'from', j.value->>'column',
               coalesce(' and ' || (j.value->>'extra'), '')), '' order by (j.value->>'n')::integer)
      into v_joins
      from pg_catalog.jsonb_each(p_state->'joins') j
     where not p_filter_only
        or (j.value->>'filter')::boolean
        or exists (select from pg_catalog.jsonb_each(p_state->'joins') d
                    where (d.value->>'filter')::boolean and pg_catalog.starts_with(d.key, j.key || '.'));
    return pg_catalog.format('%I.%I %I', p_state->>'schema', p_state->>'root', coalesce(p_state->>'alias', '_t'))
           || coalesce(v_joins, '');
end
$$;
