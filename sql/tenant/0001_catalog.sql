-- The company's own catalog of its dynamic tables. Issue-by-issue the
-- record, query and permission layers extend it with further steps.
create table {{ schema }}._tables (
    slug        text primary key,
    name        text not null,
    description text,
    settings    jsonb not null default '{}',
    created_at  timestamptz not null default pg_catalog.now(),
    updated_at  timestamptz not null default pg_catalog.now()
);
comment on table {{ schema }}._tables is 'docpal catalog: the dynamic tables of this company.';

create table {{ schema }}._columns (
    table_slug text not null references {{ schema }}._tables (slug) on update cascade on delete cascade,
    name       text not null,
    position   integer not null,
    type       text not null,
    spec       jsonb not null default '{}',
    primary key (table_slug, name)
);
comment on table {{ schema }}._columns is 'docpal catalog: columns of the dynamic tables, with their type and rules.';

create table {{ schema }}._type_lists (
    slug       text primary key,
    "values"   jsonb not null default '[]',
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now()
);
comment on table {{ schema }}._type_lists is 'docpal catalog: shared option lists for select columns.';

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
