-- Base objects: roles, schemas, extensions and the global tables.
-- Every migration is idempotent: the rendered install script (sql/docpal.sql)
-- replays all of them on every run.

-- Roles are cluster-wide; another database of the cluster may create them at
-- the same moment, hence the duplicate_object/unique_violation handler.
do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'docpal_service') then
        create role docpal_service nologin;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'docpal_app') then
        create role docpal_app nologin;
    end if;
exception when duplicate_object or unique_violation then
    null;
end
$$;

create schema if not exists docpal;
create schema if not exists docpal_private;
comment on schema docpal is 'docpal public API: every function here is part of the contract.';
comment on schema docpal_private is 'docpal internals: tables and helpers, never granted to application roles.';
revoke all on schema docpal_private from public;
revoke create on schema docpal from public;
grant usage on schema docpal to docpal_service, docpal_app;

-- pgcrypto provides hmac(); docpal_private.hmac_sha256 wraps it wherever it lives.
create extension if not exists pgcrypto with schema docpal_private;

create table if not exists docpal_private.meta (
    key   text primary key,
    value text not null
);
comment on table docpal_private.meta is 'Installation facts, such as the installed docpal version.';

create table if not exists docpal_private.secrets (
    name  text primary key,
    value bytea not null
);
comment on table docpal_private.secrets is 'Keys that sign the tenant context; readable by the docpal owner only.';
-- 32 random bytes from two v4 UUIDs (244 random bits), generated once per database.
insert into docpal_private.secrets (name, value)
values ('context_hmac', pg_catalog.decode(pg_catalog.replace(
        gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'))
on conflict (name) do nothing;

create table if not exists docpal_private.companies (
    id             uuid primary key default gen_random_uuid(),
    slug           text not null,
    name           text not null,
    status         text not null default 'active',
    status_reason  text,
    settings       jsonb not null default '{}',
    schema_name    text not null,
    schema_version integer not null default 0,
    created_at     timestamptz not null default pg_catalog.now(),
    updated_at     timestamptz not null default pg_catalog.now(),
    constraint companies_slug_key unique (slug),
    constraint companies_schema_name_key unique (schema_name),
    constraint companies_slug_format check (slug ~ '^[a-z][a-z0-9-]{1,62}$'),
    constraint companies_name_present check (pg_catalog.btrim(name) <> ''),
    constraint companies_status_known check (status in ('active', 'suspended')),
    constraint companies_settings_object check (pg_catalog.jsonb_typeof(settings) = 'object')
);
comment on table docpal_private.companies is 'Tenants: one row and one schema (company_<hex of id>) per company.';
comment on column docpal_private.companies.slug is 'Unique, ^[a-z][a-z0-9-]{1,62}$; the subdomain resolve_company() maps to it.';
comment on column docpal_private.companies.status is 'active, or suspended: nobody but platform admins can read a suspended company.';
comment on column docpal_private.companies.status_reason is 'Why the company was suspended (null while active).';
comment on column docpal_private.companies.schema_name is 'The company schema; derived from id, never from user input.';
comment on column docpal_private.companies.schema_version is 'Highest tenant template step applied to the company schema.';

create table if not exists docpal_private.users (
    id           uuid primary key default gen_random_uuid(),
    email        text not null,
    display_name text not null,
    created_at   timestamptz not null default pg_catalog.now(),
    constraint users_email_format check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$')
);
create unique index if not exists users_email_key on docpal_private.users (pg_catalog.lower(email));
comment on table docpal_private.users is 'Global users; one user may belong to many companies.';
comment on column docpal_private.users.email is 'Unique regardless of case.';

create table if not exists docpal_private.memberships (
    company_id uuid not null references docpal_private.companies (id) on delete cascade,
    user_id    uuid not null references docpal_private.users (id) on delete cascade,
    role       text not null,
    created_at timestamptz not null default pg_catalog.now(),
    primary key (company_id, user_id),
    constraint memberships_role_format check (role ~ '^[a-z][a-z0-9_-]{0,62}$')
);
create index if not exists memberships_user_id_idx on docpal_private.memberships (user_id);
comment on table docpal_private.memberships is 'Which users belong to which company, with their company role.';
comment on column docpal_private.memberships.role is 'Built-in: owner, admin, member.';

create table if not exists docpal_private.tenant_steps (
    version    integer primary key,
    name       text not null,
    statements text[] not null,
    checksum   text not null
);
comment on table docpal_private.tenant_steps is
    'The tenant template: statements for format(statement, schema_name), applied in version order.';

create table if not exists docpal_private.tenant_upgrade_runs (
    id             bigserial primary key,
    started_at     timestamptz not null default pg_catalog.clock_timestamp(),
    finished_at    timestamptz,
    target_version integer not null,
    pending        integer not null default 0,
    upgraded       integer not null default 0,
    failed         integer not null default 0
);
comment on table docpal_private.tenant_upgrade_runs is 'One row per run of docpal_private.upgrade_tenants().';

create table if not exists docpal_private.tenant_upgrades (
    id           bigserial primary key,
    run_id       bigint not null references docpal_private.tenant_upgrade_runs (id) on delete cascade,
    company_id   uuid not null references docpal_private.companies (id) on delete cascade,
    from_version integer not null,
    to_version   integer not null,
    status       text not null,
    error        text,
    started_at   timestamptz not null,
    finished_at  timestamptz not null default pg_catalog.clock_timestamp(),
    constraint tenant_upgrades_status_known check (status in ('ok', 'failed'))
);
create index if not exists tenant_upgrades_company_idx on docpal_private.tenant_upgrades (company_id, id);
create index if not exists tenant_upgrades_run_idx on docpal_private.tenant_upgrades (run_id);
comment on table docpal_private.tenant_upgrades is 'Each company upgrade attempt: ok, or failed with the error.';
