-- grant: docpal_service, docpal_app
create or replace function docpal.create_group(name text)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* A group of members of the company in context: {name}. Owners and admins
   only; 22023 bad name, 42710 taken. */
declare
    v_ctx record;
    v_name text := docpal_private.role_name(create_group.name, 'group');
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.permission_tables(v_ctx.schema_name);
    begin
        execute pg_catalog.format('insert into %I._groups (name) values ($1)', v_ctx.schema_name) using v_name;
    exception when unique_violation then
        raise exception using errcode = '42710', message = pg_catalog.format('group %L already exists', v_name);
    end;
    return pg_catalog.jsonb_build_object('name', v_name);
end
$$;
