create or replace function docpal_private.save_table_spec(p_schema text, p_spec jsonb)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Stores (inserts or replaces) a table's catalog entry. */
begin
    execute pg_catalog.format(
        'insert into %I._catalog as c (kind, slug, spec) values ($1, $2, $3)
         on conflict (kind, slug) do update set spec = excluded.spec, updated_at = pg_catalog.now()', p_schema)
      using 'table', p_spec->>'slug', p_spec;
end
$$;
