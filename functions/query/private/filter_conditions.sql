create or replace function docpal_private.filter_conditions(p_spec jsonb)
    returns bigint
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* How many filter conditions a spec holds (docpal_private.check_spec_size
   limits it to 500): the leaves of its filters, having, when and row_filter
   objects, through _and, _or and _not; an operator object counts each
   operator. Level by level: one statement counts the leaves of a whole
   level and one gathers the next (a statement per filter object made a
   500-condition _or cost 5 ms), so counting costs what reading does; it
   stops once past 500 (the caller needs no more) and below depth 33 (the
   compiler refuses filters nested deeper than 32, and a deeper spec would
   only be copied once per level). A malformed filter counts what it has;
   the compiler rejects it. */
declare
    v_level jsonb[];
    v_depth integer := 0;
    v_count bigint := 0;
begin
    if pg_catalog.jsonb_typeof(p_spec) is distinct from 'object' then
        return 0;
    end if;
    select pg_catalog.array_agg(p_spec->k.k order by k.o) into v_level
      from pg_catalog.unnest(array['filters', 'having', 'when', 'row_filter']) with ordinality k(k, o)
     where pg_catalog.jsonb_typeof(p_spec->k.k) = 'object';
    while v_level is not null and v_count <= 500 loop
        v_count := v_count + coalesce((
            select pg_catalog.sum(case when pg_catalog.jsonb_typeof(e.value) = 'object'
                                       then (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(e.value))
                                       else 1 end)
              from pg_catalog.unnest(v_level) f(f), pg_catalog.jsonb_each(f.f) e
             where e.key not in ('_and', '_or', '_not')), 0);
        exit when v_depth >= 33 or v_count > 500;
        select pg_catalog.array_agg(x.x) into v_level
          from pg_catalog.unnest(v_level) f(f), pg_catalog.jsonb_each(f.f) e,
               pg_catalog.jsonb_array_elements(case when e.key = '_not' then pg_catalog.jsonb_build_array(e.value)
                                                    when pg_catalog.jsonb_typeof(e.value) = 'array' then e.value
                                                    else '[]'::jsonb end) x(x)
         where e.key in ('_and', '_or', '_not') and pg_catalog.jsonb_typeof(x.x) = 'object';
        v_depth := v_depth + 1;
    end loop;
    return v_count;
end
$$;
