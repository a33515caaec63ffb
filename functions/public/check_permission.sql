-- grant: docpal_service, docpal_app
create or replace function docpal.check_permission(user_id uuid, action text, slug text, record_id uuid default null)
    returns boolean
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Whether that member of the company may do action on the table (and on
   that record: it must exist and match the row filter). Not a member:
   false. Owners and admins may ask about anyone, members about themselves
   (42501). 22023 unknown action, 42P01 unknown table. */
declare
    v_ctx record;
    v_spec jsonb;
    v_role text;
    v_perm jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    if check_permission.user_id is distinct from v_ctx.user_id and v_ctx.member_role not in ('owner', 'admin') then
        raise exception using errcode = '42501', message = 'a member may check only their own permissions';
    end if;
    if check_permission.action is null or check_permission.action not in ('read', 'create', 'update', 'delete') then
        raise exception using errcode = '22023', message = 'action is read, create, update or delete';
    end if;
    v_spec := docpal_private.table_spec(v_ctx.schema_name, check_permission.slug);
    select m.role into v_role from docpal_private.memberships m
     where m.company_id = v_ctx.company_id and m.user_id = check_permission.user_id;
    if v_role is null then
        return false;
    end if;
    v_perm := docpal_private.permission(v_ctx.schema_name, check_permission.user_id, v_role,
                                        case when check_permission.user_id = v_ctx.user_id then v_ctx.scopes end,
                                        check_permission.slug, check_permission.action);
    if v_perm is null then
        return false;
    end if;
    if check_permission.record_id is null then
        return true;
    end if;
    return docpal_private.row_allowed(v_ctx.schema_name, v_spec, v_perm->'row_filter', check_permission.record_id);
end
$$;
