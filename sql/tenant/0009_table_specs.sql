-- The company's table specs copied to docpal_private.table_specs (migration
-- 0011), for a company made before it. The company id is the schema name's
-- hex (company_<hex>): no join with the companies table, which Citus could
-- not do with a distributed _catalog. A schema not named so (a copy of the
-- template, as bench/bench_tenants.py makes) copies nothing.
insert into docpal_private.table_specs (company_id, slug, spec)
select case when '{{ schema }}' ~ '^company_[0-9a-f]{32}$' then pg_catalog.substr('{{ schema }}', 9)::uuid end,
       c.slug, c.spec
  from {{ schema }}._catalog c
 where c.kind = 'table' and '{{ schema }}' ~ '^company_[0-9a-f]{32}$'
on conflict (company_id, slug) do update set spec = excluded.spec;
