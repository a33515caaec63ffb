create or replace function docpal_private.q_tree_statement(
    p_caller jsonb, p_slug text, p_spec jsonb, out o_sql text, out o_params jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The statement docpal.query_tree runs for the spec (o_sql, $1 = o_params), for the
   caller p_caller (docpal_private.require_company() as jsonb, looked up once
   by the public function): everything query_tree does but
   running it and nesting the flat result. */
declare
    v_spec jsonb := docpal_private.q_check_spec(p_spec);
    v_state jsonb;
    v_root uuid;
    v_depth integer := 10;
    v_ref text;
    v_start text;
    v_sql text;
    v_parent_sql text;
begin
    perform docpal_private.q_reject_keys(v_spec, array['limit', 'offset', 'count'], 'query_tree');
    v_state := docpal_private.q_compile(p_caller, p_slug, v_spec - 'parent' - 'root' - 'max_depth');
    if pg_catalog.jsonb_typeof(v_spec->'parent') is distinct from 'string' then
        raise exception using errcode = '22023', message = 'query_tree needs parent: a relation of the table to itself';
    end if;
    perform docpal_private.q_check_self_parent(v_state, p_slug, v_spec->>'parent');
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
        if not docpal_private.whole_number(v_spec->'max_depth', 1, 100) then
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
    o_sql := v_sql;
    o_params := v_state->'params';
end
$$;
