-- The company's own catalog. Every object here is multiplied by the number
-- of companies (each relation costs files, catalog rows and relcache), so the
-- definitions of everything a company defines at runtime (tables with their
-- columns, type lists, and later workflows, rules, roles) share one table,
-- one row per object, its definition a jsonb document.
create table {{ schema }}._catalog (
    kind       text not null,
    slug       text not null,
    spec       jsonb not null default '{}',
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now(),
    primary key (kind, slug)
);
comment on table {{ schema }}._catalog is
    'docpal catalog: one row per runtime-defined object (kind table, type_list, ...) with its definition.';

create table {{ schema }}._schema_history (
    id         bigserial primary key,
    at         timestamptz not null default pg_catalog.now(),
    user_id    uuid,
    table_slug text not null,
    change     text not null,
    before     jsonb,
    after      jsonb
);
comment on table {{ schema }}._schema_history is 'docpal catalog: every schema change, oldest first.';
