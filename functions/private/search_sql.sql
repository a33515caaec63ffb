create or replace function docpal_private.search_sql(p_spec jsonb)
    returns text
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The tsvector expression over a table's searchable columns (null when
       none): the GIN index is built on exactly this, and full-text search
       must use exactly this to be served by it. */
    select 'pg_catalog.to_tsvector(''simple''::regconfig, '
           || pg_catalog.string_agg(pg_catalog.format(case c->>'type'
                  when 'multi_select' then 'coalesce(docpal_private.join_words(%I), '''')'
                  when 'json' then 'coalesce((%I)::text, '''')'
                  else 'coalesce(%I, '''')' end, c->>'name'), ' || '' '' || ' order by o)
           || ')'
      from pg_catalog.jsonb_array_elements(p_spec->'columns') with ordinality x(c, o)
     where (c->>'searchable')::boolean
$$;
