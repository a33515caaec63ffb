-- The per-company code generators (docs/internals.md, "Tenant modules and
-- generated objects"): functions that write functions and triggers into
-- company schemas. Each has the tenant module whose companies have its
-- objects, the function that generates all of them again for one company
-- (called with the schema name), and its fingerprint: the md5 of its code
-- and of everything it calls (docpal_private.generator_fingerprint),
-- computed here, after every function of this install is written.
-- docpal_private.upgrade_tenants then regenerates, in every company whose
-- recorded fingerprint differs, what a changed generator makes.
-- A new generator is one more row here.
with wanted (name, module, regenerate) as (
    values ('audit_triggers', 'data', 'docpal_private.audit_setup'),
           ('permission_compile', 'permissions', 'docpal_private.permission_compile'),
           ('rebac_compile', 'rebac', 'docpal_private.rebac_compile')
), gone as (
    delete from docpal_private.generators g where g.name not in (select w.name from wanted w)
)
insert into docpal_private.generators (name, module, regenerate, fingerprint)
select w.name, w.module, w.regenerate, docpal_private.generator_fingerprint(w.name) from wanted w
on conflict (name) do update
   set module = excluded.module, regenerate = excluded.regenerate, fingerprint = excluded.fingerprint
 where (docpal_private.generators.module, docpal_private.generators.regenerate, docpal_private.generators.fingerprint)
       is distinct from (excluded.module, excluded.regenerate, excluded.fingerprint);
