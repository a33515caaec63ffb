create or replace function docpal_private.readable_spec(p_spec jsonb, p_columns jsonb)
    returns jsonb
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* A table spec with only the columns p_columns (a JSON array of names)
       lists; any other spec (a column's, or null) as it is. */
    select case
        when p_spec is null or pg_catalog.jsonb_typeof(p_spec) <> 'object' or not p_spec ? 'columns' then p_spec
        else p_spec || pg_catalog.jsonb_build_object('columns', coalesce((
            select pg_catalog.jsonb_agg(c order by o)
              from pg_catalog.jsonb_array_elements(p_spec->'columns') with ordinality x(c, o)
             where p_columns ? (c->>'name')), '[]'))
    end
$$;
