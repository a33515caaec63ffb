-- grant: docpal_service, docpal_app
create or replace function docpal.unassign_role(user_id uuid, role text)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Takes a custom role from another member. Owners and admins only; errors
   as assign_role, and P0002 when the role was not assigned. */
declare
    v_ctx record;
    v_role text;
    v_count integer;
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.permission_tables(v_ctx.schema_name);
    perform docpal_private.company_member(v_ctx.company_id, unassign_role.user_id, v_ctx.user_id);
    v_role := docpal_private.custom_role(v_ctx.schema_name, unassign_role.role, false);
    execute pg_catalog.format('delete from %I._role_members m where m.user_id = $1 and m.role = $2', v_ctx.schema_name)
      using unassign_role.user_id, v_role;
    get diagnostics v_count = row_count;
    if v_count = 0 then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('user %s does not have role %s', unassign_role.user_id, v_role);
    end if;
end
$$;
