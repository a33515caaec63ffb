-- depends: 0010_scale_out
-- The table specs of every company, next to its _catalog (issue 14): on a
-- Citus coordinator, where docpal's functions run, a query reads the specs
-- it compiles from here instead of from the company's worker, one network
-- round trip less per query (docpal_private.q_compile reads it for a
-- distributed company only). Written in the same transaction as _catalog
-- (save_table_spec, drop_table) for every company, so a company the DBA
-- distributes later already has them; filled for the companies made
-- before by tenant step 9. Derived data: no client reads it.
-- Idempotent: the install script replays every migration.
create table if not exists docpal_private.table_specs (
    company_id uuid not null references docpal_private.companies (id) on delete cascade,
    slug       text not null,
    spec       jsonb not null,
    primary key (company_id, slug)
);
comment on table docpal_private.table_specs is 'A copy of each company''s table specs (kind table of its _catalog), for queries on a Citus coordinator.';
