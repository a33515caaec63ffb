create or replace function docpal_private.save_table_spec(p_schema text, p_spec jsonb)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Stores (inserts or replaces) a table's catalog entry, and its copy in
   docpal_private.table_specs. The time is a
   parameter: Citus allows only immutable functions in DO UPDATE SET. */
begin
    execute pg_catalog.format(
        'insert into %I._catalog as c (kind, slug, spec) values ($1, $2, $3)
         on conflict (kind, slug) do update set spec = excluded.spec, updated_at = $4', p_schema)
      using 'table', p_spec->>'slug', p_spec, pg_catalog.now();
    -- and its copy on the coordinator (migration 0011: what q_compile reads
    -- for a company that Citus holds)
    insert into docpal_private.table_specs as s (company_id, slug, spec)
    values (docpal_private.company_of_schema(p_schema), p_spec->>'slug', p_spec)
    on conflict (company_id, slug) do update set spec = excluded.spec;
end
$$;
