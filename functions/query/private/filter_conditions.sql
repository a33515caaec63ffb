create or replace function docpal_private.filter_conditions(p_spec jsonb)
    returns bigint
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* How many filter conditions a spec holds (docpal_private.check_spec_size
   limits it to 500): the leaves of its filters, having, when and row_filter
   objects, through _and, _or and _not and into the filters by children
   (_some, _none, _every: contract 4.1), plus those of every embed in
   columns, at any depth (an embed's filters are the spec's too); an
   operator object counts each operator. Level by level: one statement counts the leaves of a whole
   level and one gathers the next (a statement per filter object made a
   500-condition _or cost 5 ms), so counting costs what reading does; it
   stops once past 500 (the caller needs no more) and below depth 33 (the
   compiler refuses filters nested deeper than 32, and a deeper spec would
   only be copied once per level). A malformed filter counts what it has;
   the compiler rejects it. */
declare
    v_level jsonb[];
    v_embeds jsonb[];
    v_depth integer := 0;
    v_count bigint := 0;
begin
    if pg_catalog.jsonb_typeof(p_spec) is distinct from 'object' then
        return 0;
    end if;
    select pg_catalog.array_agg(p_spec->k.k order by k.o) into v_level
      from pg_catalog.unnest(array['filters', 'having', 'when', 'row_filter']) with ordinality k(k, o)
     where pg_catalog.jsonb_typeof(p_spec->k.k) = 'object';
    -- the embeds' filters, level by level of embedding
    v_embeds := array[p_spec];
    while pg_catalog.cardinality(v_embeds) > 0 and v_depth < 33 loop
        select pg_catalog.array_agg(x.value) into v_embeds
          from pg_catalog.unnest(v_embeds) s(s),
               pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(s.s->'columns') = 'array'
                                                    then s.s->'columns' else '[]' end) c(c),
               pg_catalog.jsonb_each(case when pg_catalog.jsonb_typeof(c.c) = 'object' then c.c else '{}' end) x
         where pg_catalog.jsonb_typeof(x.value) = 'object';
        v_level := v_level || array(select e->'filters' from pg_catalog.unnest(v_embeds) e
                                     where pg_catalog.jsonb_typeof(e->'filters') = 'object');
        v_embeds := coalesce(v_embeds, '{}');
        v_depth := v_depth + 1;
    end loop;
    v_depth := 0;
    while v_level is not null and v_count <= 500 loop
        v_count := v_count + coalesce((
            select pg_catalog.sum(case when pg_catalog.jsonb_typeof(e.value) = 'object'
                                       then (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(e.value) k
                                              where k not in ('_some', '_none', '_every'))
                                       else 1 end)
              from pg_catalog.unnest(v_level) f(f), pg_catalog.jsonb_each(f.f) e
             where e.key not in ('_and', '_or', '_not')), 0);
        exit when v_depth >= 33 or v_count > 500;
        select pg_catalog.array_agg(n.n) into v_level from (
            select x.x as n
              from pg_catalog.unnest(v_level) f(f), pg_catalog.jsonb_each(f.f) e,
                   pg_catalog.jsonb_array_elements(case when e.key = '_not' then pg_catalog.jsonb_build_array(e.value)
                                                        when pg_catalog.jsonb_typeof(e.value) = 'array' then e.value
                                                        else '[]'::jsonb end) x(x)
             where e.key in ('_and', '_or', '_not') and pg_catalog.jsonb_typeof(x.x) = 'object'
            union all
            select o.value
              from pg_catalog.unnest(v_level) f(f), pg_catalog.jsonb_each(f.f) e,
                   pg_catalog.jsonb_each(case when pg_catalog.jsonb_typeof(e.value) = 'object' then e.value else '{}' end) o
             where o.key in ('_some', '_none', '_every') and pg_catalog.jsonb_typeof(o.value) = 'object') n;
        v_depth := v_depth + 1;
    end loop;
    return v_count;
end
$$;
