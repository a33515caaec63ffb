-- grant: docpal_service, docpal_app
create or replace function docpal.create_role(name text, parent text default null)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* A custom role of the company in context, inheriting the grants of parent
   (a custom role or member): {name, parent}. Owners and admins only.
   22023 bad or built-in name, 42710 taken, 42704 unknown parent. A parent
   exists before its children and never changes, so there are no cycles. */
declare
    v_ctx record;
    v_name text := docpal_private.role_name(create_role.name, 'role');
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.permission_tables(v_ctx.schema_name);
    if create_role.parent is not null then
        perform docpal_private.custom_role(v_ctx.schema_name, create_role.parent, true);
    end if;
    begin
        execute pg_catalog.format('insert into %I._roles (name, parent) values ($1, $2)', v_ctx.schema_name)
          using v_name, create_role.parent;
    exception when unique_violation then
        raise exception using errcode = '42710', message = pg_catalog.format('role %L already exists', v_name);
    end;
    return pg_catalog.jsonb_build_object('name', v_name, 'parent', create_role.parent);
end
$$;
