create or replace function docpal_private.physical_columns(p_spec jsonb, p_include_formula boolean default true)
    returns text[]
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The table's columns that are PostgreSQL columns (not relation_many), in order. */
    select coalesce(pg_catalog.array_agg(c->>'name' order by o), '{}')
      from pg_catalog.jsonb_array_elements(p_spec->'columns') with ordinality x(c, o)
     where c->>'type' <> 'relation_many' and (p_include_formula or c->>'type' <> 'formula')
$$;
