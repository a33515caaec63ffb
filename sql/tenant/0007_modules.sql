-- Tenant modules (issue 13): the tables a company makes on first use are
-- modules with steps of their own (sql/tenant/<module>/), recorded per
-- company in docpal_private.company_modules. A company made before then
-- has the tables of the modules it used, in the shape of each module's
-- step 1 (as migration 0004 and step 0006 left them): it is recorded at
-- version 1. Its generated objects have no fingerprint yet, so
-- upgrade_tenants generates them again (docpal_private.upgrade_company).
insert into docpal_private.company_modules (company_id, module, version)
select c.id, m.module, 1
  from docpal_private.companies c,
       (values ('data', '{{ schema }}._events'), ('permissions', '{{ schema }}._roles'),
               ('rebac', '{{ schema }}._relation_rules'), ('workflows', '{{ schema }}._workflow_log')) m (module, marker)
 where c.schema_name = '{{ schema }}' and pg_catalog.to_regclass(m.marker) is not null
on conflict do nothing;
