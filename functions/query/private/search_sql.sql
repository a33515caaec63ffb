create or replace function docpal_private.search_sql(p_spec jsonb, p_alias text default null)
    returns text
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The tsvector expression over a table's searchable columns (null when
       none): the GIN index is built on exactly this, and full-text search
       must use exactly this to be served by it (p_alias qualifies the
       columns in a query; the planner matches the index all the same). */
    select 'pg_catalog.to_tsvector(''simple''::regconfig, '
           || pg_catalog.string_agg(pg_catalog.format(case c->>'type'
                  when 'multi_select' then 'coalesce(docpal_private.join_words(%s), '''')'
                  when 'json' then 'coalesce((%s)::text, '''')'
                  else 'coalesce(%s, '''')' end,
                  coalesce(pg_catalog.quote_ident(p_alias) || '.', '') || pg_catalog.quote_ident(c->>'name')),
                  ' || '' '' || ' order by o)
           || ')'
      from pg_catalog.jsonb_array_elements(p_spec->'columns') with ordinality x(c, o)
     where (c->>'searchable')::boolean
$$;
