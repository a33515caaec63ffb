-- grant: docpal_service, docpal_app
create or replace function docpal.check_permission(user_id uuid, action text, slug text, record_id uuid default null)
    returns boolean
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Whether that member of the company may do action on the table (and on
   that record: it must exist and one of the member's grants of the action
   must cover its row). Not a member: false. Owners and admins may ask about
   anyone, members about themselves (42501). With a record the caller may
   not read itself (no read grant of the caller covers its row) the answer
   is false: evaluating a grant's filter on it would reveal its values.
   22023 unknown action, 42P01 unknown table. */
declare
    v_ctx docpal_private.caller;
    v_spec jsonb;
    v_role text;
    v_perm jsonb;
    v_read jsonb;
    v_n integer;
    v_matched boolean[];
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
    -- the user asked about, with the caller's API key scopes only when asking about themselves
    v_perm := docpal_private.permission(
        row(v_ctx.company_id, check_permission.user_id, v_ctx.schema_name, v_role,
            case when check_permission.user_id = v_ctx.user_id then v_ctx.scopes end)::docpal_private.caller,
        check_permission.slug, check_permission.action);
    if v_perm is null then
        return false;
    end if;
    if check_permission.record_id is null then
        return true;
    end if;
    -- one statement: the user's grants of the action, then the caller's own read grants, on the row
    v_read := docpal_private.permission(v_ctx, check_permission.slug, 'read');
    if v_read is null then
        return false;
    end if;
    v_n := pg_catalog.jsonb_array_length(v_perm->'grants');
    select c.matched into v_matched
      from docpal_private.record_cells(v_ctx.schema_name, v_spec, (v_perm->'grants') || (v_read->'grants'),
                                       array[check_permission.record_id]) c;
    return coalesce(true = any (v_matched[1:v_n]) and true = any (v_matched[v_n + 1:]), false);
end
$$;
