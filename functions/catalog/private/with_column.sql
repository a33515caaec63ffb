create or replace function docpal_private.with_column(p_spec jsonb, p_name text, p_column jsonb)
    returns jsonb
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The table spec with column p_name replaced by p_column (appended when
       p_name is not there; removed when p_column is null). */
    select p_spec || pg_catalog.jsonb_build_object('columns', coalesce((
        select pg_catalog.jsonb_agg(v.c order by v.o)
          from (select case when c->>'name' = p_name then p_column else c end as c, o
                  from pg_catalog.jsonb_array_elements(p_spec->'columns') with ordinality x(c, o)
                union all
                select p_column, 1e9 where p_column is not null
                   and not exists (select from pg_catalog.jsonb_array_elements(p_spec->'columns') c where c->>'name' = p_name)) v
         where v.c is not null), '[]'))
$$;
