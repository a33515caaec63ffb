-- grant: docpal_service, docpal_app
create or replace function docpal.add_group_member(group_name text, user_id uuid)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Adds another member of the company to a group (again: no change). Owners
   and admins only; 42704 unknown group, 23503 not a member, 42501 oneself. */
declare
    v_ctx record;
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.permission_tables(v_ctx.schema_name);
    perform docpal_private.company_group(v_ctx.schema_name, add_group_member.group_name);
    perform docpal_private.company_member(v_ctx.company_id, add_group_member.user_id, v_ctx.user_id);
    execute pg_catalog.format('insert into %I._group_members (group_name, user_id) values ($1, $2) on conflict do nothing',
                              v_ctx.schema_name)
      using add_group_member.group_name, add_group_member.user_id;
end
$$;
