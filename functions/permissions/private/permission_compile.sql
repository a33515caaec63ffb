create or replace function docpal_private.permission_compile(p_schema regnamespace)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Creates the company's _permission(user, table, action) function: the
   grants a member holds (through "member", their roles and their groups'
   roles, and every role those inherit from, depth-bounded), combined into
   {columns, row_filter, grants} or null: columns and row_filter are the
   unions (what the caller may touch at all), grants the individual
   {columns, row_filter} pairs, so that readers can combine them cell by
   cell (a column is readable on a row only where one grant covers both). Static SQL in the company schema, so each
   session plans it once (docpal_private.permission used to plan this
   recursive query on every call, which cost more than the query it guards). */
declare
    v_schema text := (select n.nspname from pg_catalog.pg_namespace n where n.oid = p_schema);
begin
    execute pg_catalog.format(
        'create or replace function %1$I._permission(p_user uuid, p_slug text, p_action text)
             returns jsonb language plpgsql stable set search_path = pg_catalog, pg_temp as $perm$
         begin
             return (
                 with recursive held(role, depth) as (
                     select ''member''::text, 0
                     union
                     select rm.role, 0 from %1$I._role_members rm where rm.user_id = p_user
                     union
                     select gr.role, 0 from %1$I._group_members gm join %1$I._group_roles gr on gr.group_name = gm.group_name
                      where gm.user_id = p_user
                     union
                     select r.parent, h.depth + 1 from held h join %1$I._roles r on r.name = h.role
                      where r.parent is not null and h.depth < 32),
                 mine as (
                     select g.columns, g.row_filter from %1$I._grants g
                      where g.role in (select h.role from held h) and g.table_slug = p_slug and g.action = p_action)
                 select case when pg_catalog.count(*) = 0 then null else pg_catalog.jsonb_build_object(
                            ''columns'', case when pg_catalog.bool_or(m.columns is null) then null
                                              else (select pg_catalog.to_jsonb(pg_catalog.array_agg(distinct c))
                                                      from mine m2, pg_catalog.unnest(m2.columns) c) end,
                            ''row_filter'', case when pg_catalog.bool_or(m.row_filter is null) then null
                                                 else pg_catalog.jsonb_build_object(''_or'', pg_catalog.jsonb_agg(m.row_filter)) end,
                            ''grants'', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                            ''columns'', pg_catalog.to_jsonb(m.columns), ''row_filter'', m.row_filter))) end
                   from mine m);
         end
         $perm$', v_schema);
    execute pg_catalog.format('revoke all on function %I._permission(uuid, text, text) from public', v_schema);
end
$$;
