-- Tenant module "permissions", made on the first write of a permission
-- (docpal_private.permission_tables): custom roles with a parent, grants per
-- role, table and action, role assignments, groups. User ids are checked by
-- a trigger, not a foreign key to the shared users table
-- (docpal_private.check_user_refs). The compiled _permission function is
-- generated (docpal_private.permission_compile, a generator: upgraded by
-- fingerprint, not by steps).
create table {{ schema }}._roles (
    name       text primary key,
    parent     text,
    created_at timestamptz not null default pg_catalog.now()
);
create table {{ schema }}._grants (
    role       text not null,
    table_slug text not null,
    action     text not null check (action in ('read', 'create', 'update', 'delete')),
    columns    text[],
    row_filter jsonb,
    primary key (role, table_slug, action)
);
create table {{ schema }}._role_members (
    user_id uuid not null,
    role    text not null references {{ schema }}._roles (name) on delete cascade,
    primary key (user_id, role)
);
create table {{ schema }}._groups (
    name       text primary key,
    created_at timestamptz not null default pg_catalog.now()
);
create table {{ schema }}._group_members (
    group_name text not null references {{ schema }}._groups (name) on delete cascade,
    user_id    uuid not null,
    primary key (group_name, user_id)
);
create index on {{ schema }}._group_members (user_id);
create table {{ schema }}._group_roles (
    group_name text not null references {{ schema }}._groups (name) on delete cascade,
    role       text not null references {{ schema }}._roles (name) on delete cascade,
    primary key (group_name, role)
);
select docpal_private.user_refs_trigger('{{ schema }}', '_role_members', array['user_id', '_role_members_user_id_fkey']);
select docpal_private.user_refs_trigger('{{ schema }}', '_group_members', array['user_id', '_group_members_user_id_fkey']);
select docpal_private.permission_compile('{{ schema }}'::regnamespace);
