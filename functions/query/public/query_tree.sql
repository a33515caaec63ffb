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
   nested here, one level at a time from the deepest. */
declare
    v_ctx record;
    v_spec jsonb := docpal_private.q_spec(query_tree.spec);
    v_state jsonb;
    v_parent jsonb;
    v_root uuid;
    v_depth integer := 10;
    v_ref text;
    v_start text;
    v_sql text;
    v_flat jsonb;
    v_level integer;
    v_deepest integer;
    v_children jsonb := '{}';
    v_parent_sql text;
begin
    select * into v_ctx from docpal_private.require_company();
    perform docpal_private.q_reject(v_spec, array['limit', 'offset', 'count'], 'query_tree');
    v_state := docpal_private.q_compile(v_ctx.schema_name, query_tree.slug, v_spec - 'parent' - 'root' - 'max_depth');
    if pg_catalog.jsonb_typeof(v_spec->'parent') is distinct from 'string' then
        raise exception using errcode = '22023', message = 'query_tree needs parent: a relation of the table to itself';
    end if;
    v_parent := docpal_private.column_spec(v_state->'specs'->query_tree.slug, v_spec->>'parent');
    if v_parent->>'type' <> 'relation' or v_parent->>'target' <> query_tree.slug then
        raise exception using errcode = '22023',
            message = pg_catalog.format('parent %s must be a relation of %s to itself', v_spec->>'parent', query_tree.slug);
    end if;
    -- the parent column must be readable too (a member's allow-list), and the
    -- tree follows it as the member may read it (null where a grant's row
    -- filter hides the cell: such a node is a top node to them)
    select q.p_state, q.o_sql into v_state, v_parent_sql from docpal_private.q_path(v_state, v_spec->>'parent', true) q;
    if v_spec ? 'root' and v_spec->'root' <> 'null'::jsonb then
        begin
            v_root := (v_spec->>'root')::uuid;
        exception when invalid_text_representation then
            v_root := null;
        end;
        if v_root is null or pg_catalog.jsonb_typeof(v_spec->'root') <> 'string' then
            raise exception using errcode = '22023', message = 'root must be a record id or null';
        end if;
    end if;
    if v_spec ? 'max_depth' then
        if pg_catalog.jsonb_typeof(v_spec->'max_depth') <> 'number' or (v_spec->>'max_depth')::numeric not between 1 and 100
           or (v_spec->>'max_depth')::numeric <> pg_catalog.trunc((v_spec->>'max_depth')::numeric) then
            raise exception using errcode = '22023', message = 'max_depth is a whole number from 1 to 100';
        end if;
        v_depth := (v_spec->>'max_depth')::integer;
    end if;
    if v_root is null then
        v_start := pg_catalog.format('%s is null', v_parent_sql);
    else
        select q.p_state, q.o_ref into v_state, v_ref from docpal_private.q_param(v_state, v_spec->'root') q;
        v_start := pg_catalog.format('%s = (%s #>> ''{}'')::uuid', v_parent_sql, v_ref);
    end if;
    v_sql := pg_catalog.format(
        'with recursive _n(id, depth, seen) as (
             select _t.id, 1, array[_t.id] from %1$s where %2$s and %3$s
             union all
             select _t.id, _n.depth + 1, _n.seen || _t.id
               from %1$s join _n on %4$s = _n.id
              where %2$s and _t.id <> all (_n.seen) and _n.depth < %5$s)
         select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''id'', _t.id, ''parent'', %4$s, ''depth'', _n.depth,
                                                                    ''row'', %6$s) order by %7$s)
           from %8$s join _n on _n.id = _t.id',
        docpal_private.q_from(v_state, true), v_state->>'where', v_start, v_parent_sql, v_depth,
        v_state->>'select', v_state->>'order', docpal_private.q_from(v_state, false));
    execute v_sql into v_flat using v_state->'params';
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
