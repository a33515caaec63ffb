-- grant: docpal_service, docpal_app
create or replace function docpal.query_tree(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {nodes: [{...row, children: [...]}]} through the self relation parent,
   from the top (records without a parent) or from the children of root, to
   max_depth levels (default 10, at most 100). A recursive CTE walks down with
   a visited-path guard, so a cycle ends; filters restrict the nodes (a node
   filtered out hides its subtree); sort orders siblings. The flat result is
   nested here, one level at a time from the deepest.
   The statement is built by docpal_private.q_tree_statement. */
declare
    v_sql text;
    v_params jsonb;
    v_flat jsonb;
    v_level integer;
    v_deepest integer;
    v_children jsonb := '{}';
begin
    select s.o_sql, s.o_params into v_sql, v_params
      from docpal_private.q_tree_statement((select pg_catalog.to_jsonb(c) from docpal_private.require_company() c),
                                           query_tree.slug, query_tree.spec) s;
    execute v_sql into v_flat using v_params;
    -- nest: each level's nodes get their children, keyed by their parent for the level above
    select coalesce(pg_catalog.max((n->>'depth')::integer), 0) into v_deepest
      from pg_catalog.jsonb_array_elements(coalesce(v_flat, '[]')) n;
    for v_level in reverse v_deepest .. 1 loop
        select coalesce(pg_catalog.jsonb_object_agg(p.parent, p.nodes), '{}') into v_children
          from (select coalesce(n->>'parent', '') as parent,
                       pg_catalog.jsonb_agg((n->'row') || pg_catalog.jsonb_build_object(
                           'children', coalesce(v_children->(n->>'id'), '[]')) order by o) as nodes
                  from pg_catalog.jsonb_array_elements(coalesce(v_flat, '[]')) with ordinality x(n, o)
                 where (n->>'depth')::integer = v_level
                 group by 1) p;
    end loop;
    return pg_catalog.jsonb_build_object('nodes', coalesce(
        (select pg_catalog.jsonb_agg(e.value) from pg_catalog.jsonb_each(v_children) c, pg_catalog.jsonb_array_elements(c.value) e),
        '[]'));
end
$$;
