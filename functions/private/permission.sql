create or replace function docpal_private.permission(
    p_schema text, p_user uuid, p_member_role text, p_scopes text[], p_slug text, p_action text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* What the user may do with p_action on table p_slug: null when denied,
   else {columns, row_filter}: columns null = every column, row_filter null =
   every row ("$user" already replaced by the user's id). Owners and admins
   hold everything; a member holds the grants of "member", of the roles
   assigned to them or to their groups, and of every role those inherit from
   (parent chains, depth-bounded). Grants combine by union. An API key's
   scopes (p_scopes, null = not narrowed) must include the action. */
declare
    v_result jsonb;
begin
    if p_scopes is not null and not (p_action = any (p_scopes)) then
        return null;
    end if;
    if p_member_role in ('owner', 'admin') then
        return '{"columns": null, "row_filter": null}';
    end if;
    execute pg_catalog.format(
        'with recursive held(role, depth) as (
             select ''member'', 0
             union
             select rm.role, 0 from %1$I._role_members rm where rm.user_id = $1
             union
             select gr.role, 0 from %1$I._group_members gm join %1$I._group_roles gr on gr.group_name = gm.group_name
              where gm.user_id = $1
             union
             select r.parent, h.depth + 1 from held h join %1$I._roles r on r.name = h.role
              where r.parent is not null and h.depth < 32)
         select case when pg_catalog.count(*) = 0 then null else pg_catalog.jsonb_build_object(
                    ''columns'', case when pg_catalog.bool_or(g.columns is null) then null
                                      else (select pg_catalog.to_jsonb(pg_catalog.array_agg(distinct c))
                                              from %1$I._grants g2, pg_catalog.unnest(g2.columns) c
                                             where g2.role in (select h.role from held h) and g2.table_slug = $2 and g2.action = $3) end,
                    ''row_filter'', case when pg_catalog.bool_or(g.row_filter is null) then null
                                         else pg_catalog.jsonb_build_object(''_or'', pg_catalog.jsonb_agg(g.row_filter)) end) end
           from %1$I._grants g
          where g.role in (select h.role from held h) and g.table_slug = $2 and g.action = $3', p_schema)
       into v_result using p_user, p_slug, p_action;
    if v_result->'row_filter' is not null and v_result->'row_filter' <> 'null'::jsonb then
        v_result := pg_catalog.replace(v_result::text, '"$user"', pg_catalog.to_json(p_user::text)::text)::jsonb;
    end if;
    return v_result;
end
$$;
