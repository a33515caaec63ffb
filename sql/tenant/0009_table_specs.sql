-- The company's table specs copied to docpal_private.table_specs (migration
-- 0011), for a company made before it. The company id is the schema name's
-- hex (company_<hex>): no join with the companies table, which Citus could
-- not do with a distributed _catalog.
insert into docpal_private.table_specs (company_id, slug, spec)
select pg_catalog.substr('{{ schema }}', 9)::uuid, c.slug, c.spec
  from {{ schema }}._catalog c
 where c.kind = 'table'
on conflict (company_id, slug) do update set spec = excluded.spec;
