-- Permissions of a company: custom roles (with a parent to inherit from),
-- grants per role, table and action, role assignments, and groups.
-- The built-in roles owner, admin and member are not rows: owner and admin
-- hold everything, and grants to "member" apply to every member.
create table {{ schema }}._roles (
    name       text primary key,
    parent     text,
    created_at timestamptz not null default pg_catalog.now()
);
comment on table {{ schema }}._roles is 'docpal custom roles; parent is a custom role or member.';

create table {{ schema }}._grants (
    role       text not null,
    table_slug text not null,
    action     text not null check (action in ('read', 'create', 'update', 'delete')),
    columns    text[],
    row_filter jsonb,
    primary key (role, table_slug, action)
);
comment on table {{ schema }}._grants is 'docpal grants: null columns = every column, null row_filter = every row.';

create table {{ schema }}._role_members (
    user_id uuid not null references docpal_private.users (id) on delete cascade,
    role    text not null references {{ schema }}._roles (name) on delete cascade,
    primary key (user_id, role)
);

create table {{ schema }}._groups (
    name       text primary key,
    created_at timestamptz not null default pg_catalog.now()
);

create table {{ schema }}._group_members (
    group_name text not null references {{ schema }}._groups (name) on delete cascade,
    user_id    uuid not null references docpal_private.users (id) on delete cascade,
    primary key (group_name, user_id)
);

create index on {{ schema }}._group_members (user_id);

create table {{ schema }}._group_roles (
    group_name text not null references {{ schema }}._groups (name) on delete cascade,
    role       text not null references {{ schema }}._roles (name) on delete cascade,
    primary key (group_name, role)
);

select docpal_private.permission_compile('{{ schema }}'::regnamespace);
