-- grant: docpal_service, docpal_app
create or replace function docpal.assign_group_role(group_name text, role text)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Gives every member of a group a custom role (again: no change). Owners
   and admins only; 42704 unknown group or role, 22023 a built-in role. */
declare
    v_ctx record;
    v_role text;
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.permission_tables(v_ctx.schema_name);
    perform docpal_private.company_group(v_ctx.schema_name, assign_group_role.group_name);
    v_role := docpal_private.custom_role(v_ctx.schema_name, assign_group_role.role, false);
    execute pg_catalog.format('insert into %I._group_roles (group_name, role) values ($1, $2) on conflict do nothing',
                              v_ctx.schema_name)
      using assign_group_role.group_name, v_role;
end
$$;
