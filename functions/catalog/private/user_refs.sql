create or replace function docpal_private.user_refs(p_spec jsonb)
    returns text[]
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The user columns of a table spec as trigger arguments for
       docpal_private.check_user_refs: column, name of its "fkey" object,
       column, name, ... (empty when the table has none). */
    select coalesce(pg_catalog.array_agg(x.v order by c.o, x.k), '{}')
      from pg_catalog.jsonb_array_elements(p_spec->'columns') with ordinality c(col, o),
           lateral (values (1, c.col->>'name'), (2, c.col->'objects'->>'fkey')) x(k, v)
     where c.col->>'type' = 'user' and c.col->'objects'->>'fkey' is not null;
$$;
