-- grant: docpal_service, docpal_app
create or replace function docpal.assign_role(user_id uuid, role text)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Gives another member of the company a custom role (again: no change).
   Owners and admins only; 42501 for oneself, 23503 not a member, 42704
   unknown role, 22023 a built-in role. */
declare
    v_ctx record;
    v_role text;
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.permission_tables(v_ctx.schema_name);
    perform docpal_private.company_member(v_ctx.company_id, assign_role.user_id, v_ctx.user_id);
    v_role := docpal_private.custom_role(v_ctx.schema_name, assign_role.role, false);
    execute pg_catalog.format('insert into %I._role_members (user_id, role) values ($1, $2) on conflict do nothing',
                              v_ctx.schema_name)
      using assign_role.user_id, v_role;
end
$$;
