create or replace function docpal_private.workflow_roles(p_schema text, p_user uuid, p_member_role text)
    returns text[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The role names a member holds for a workflow transition: their company
   role (owner, admin or member), the custom roles assigned to them or to
   their groups, and every role those inherit from (parent chains,
   depth-bounded, as docpal_private.permission_compile reads them). Without
   the company's permission tables (no custom role was ever made) only the
   company role. Owner and admin imply nothing here: a transition that lists
   "approver" needs "approver", whoever asks. */
declare
    v_roles text[];
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._roles', p_schema)) is null then
        return array[p_member_role];
    end if;
    execute pg_catalog.format(
        'with recursive held(role, depth) as (
             select $2::text, 0
             union
             select rm.role, 0 from %1$I._role_members rm where rm.user_id = $1
             union
             select gr.role, 0 from %1$I._group_members gm join %1$I._group_roles gr on gr.group_name = gm.group_name
              where gm.user_id = $1
             union
             select r.parent, h.depth + 1 from held h join %1$I._roles r on r.name = h.role
              where r.parent is not null and h.depth < 32)
         select pg_catalog.array_agg(distinct h.role) from held h', p_schema)
       into v_roles using p_user, p_member_role;
    return v_roles;
end
$$;
