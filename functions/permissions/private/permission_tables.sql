create or replace function docpal_private.permission_tables(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The company's permission tables (custom roles with a parent, grants per
   role, table and action, role assignments, groups) and its compiled
   _permission function, made on the first write of a permission (not with
   the company: every relation costs several ms of create_company, and most
   companies use only the built-in roles). Until then a member holds no
   grants, which is what the absent tables mean. */
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._roles', p_schema)) is not null then
        return;
    end if;
    -- two first writers of a company: one creates, the other finds them made
    perform docpal_private.company_lock(p_schema, 'permission_tables');
    if pg_catalog.to_regclass(pg_catalog.format('%I._roles', p_schema)) is null then
        execute pg_catalog.format('create table %1$I._roles (
                name       text primary key,
                parent     text,
                created_at timestamptz not null default pg_catalog.now()
            )', p_schema);
        execute pg_catalog.format('create table %1$I._grants (
                role       text not null,
                table_slug text not null,
                action     text not null check (action in (''read'', ''create'', ''update'', ''delete'')),
                columns    text[],
                row_filter jsonb,
                primary key (role, table_slug, action)
            )', p_schema);
        execute pg_catalog.format('create table %1$I._role_members (
                user_id uuid not null,
                role    text not null references %1$I._roles (name) on delete cascade,
                primary key (user_id, role)
            )', p_schema);
        execute pg_catalog.format('create table %1$I._groups (
                name       text primary key,
                created_at timestamptz not null default pg_catalog.now()
            )', p_schema);
        execute pg_catalog.format('create table %1$I._group_members (
                group_name text not null references %1$I._groups (name) on delete cascade,
                user_id    uuid not null,
                primary key (group_name, user_id)
            )', p_schema);
        execute pg_catalog.format('create index on %1$I._group_members (user_id)', p_schema);
        execute pg_catalog.format('create table %1$I._group_roles (
                group_name text not null references %1$I._groups (name) on delete cascade,
                role       text not null references %1$I._roles (name) on delete cascade,
                primary key (group_name, role)
            )', p_schema);
        -- user ids checked by a trigger, not a foreign key to the shared users
        -- table (docpal_private.check_user_refs)
        perform docpal_private.user_refs_trigger(p_schema, '_role_members', array['user_id', '_role_members_user_id_fkey']);
        perform docpal_private.user_refs_trigger(p_schema, '_group_members', array['user_id', '_group_members_user_id_fkey']);
        perform docpal_private.permission_compile(p_schema::regnamespace);
    end if;
end
$$;
