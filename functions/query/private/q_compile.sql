create or replace function docpal_private.q_compile(p_caller jsonb, p_slug text, p_spec jsonb, p_extra_keys text[] default '{}',
                                                     p_child jsonb default null)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Compiles the keys every query spec shares into SQL pieces, returned in the
   compiler state: select (the row JSON), where, order, limit, offset, count,
   plus joins and params for q_from and EXECUTE ... USING. The one place
   where a spec becomes SQL, so a row predicate or a column allow-list (the
   permission layer) has one place to go. 22023 for an unknown key or a bad
   value, 42703 for an unknown path, 42P01 for an unknown table.
   Linear in the spec: the state handed to each step carries only the
   parameters that step adds (p_state.base numbers them), they are gathered
   in v_params and SQL pieces in arrays, appended in place, and the state
   gets the whole parameter list once, at the end. For a member, every path
   is read through the cell-by-cell masks of docpal_private.q_cell_condition.
   p_caller is the caller as the public function looked it up once
   (docpal_private.require_company() as jsonb: schema_name, user_id,
   member_role, scopes); the state is made by docpal_private.q_state,
   whose comment lists every key.
   With p_child (a child query's state, docpal_private.q_child_state) it
   compiles an embed's spec (columns, filters, sort, limit) on that state
   instead: no catalog read, no caller, the child's own alias and joins,
   its parameters numbered after those p_child holds (docpal_private.q_embed).
   An item of columns may be an embed, {"students": {...}}. The search key
   is compiled by docpal_private.q_search (a function of its own, which a
   backend compiles only when it searches). */
declare
    v_specs jsonb;
    v_spec jsonb;
    v_state jsonb;
    v_key text;
    v_path text;
    v_expr text;
    v_pairs text[] := '{}';
    v_order text[] := '{}';
    v_items jsonb := '[]';
    v_where text := 'true';
    v_limit integer := 50;
    v_offset bigint := 0;
    v_joined boolean := false;
    v_perm jsonb;
    v_params jsonb[] := '{}';   -- every parameter so far but those in v_state.params
    v_column jsonb;
    v_cond text;
    v_cond_joined boolean;
    v_masked text[] := '{}';    -- default results: 'name', masked value pairs
    v_sort_items jsonb[] := '{}';
    p_schema text := coalesce(p_caller->>'schema_name', p_child->>'schema');
    v_alias text := coalesce(p_child->>'alias', '_t');
    v_base0 integer := coalesce((p_child->>'base')::integer, 0);  -- $1's index of v_params[1]
    v_item jsonb;
begin
    if p_child is not null then
        v_params := array(select pg_catalog.jsonb_array_elements(p_child->'params'));
        v_state := p_child || pg_catalog.jsonb_build_object('params', '[]'::jsonb, 'base', v_base0 + pg_catalog.cardinality(v_params));
        v_spec := p_child->'specs'->p_slug;
        v_perm := p_child->'perms'->p_slug;
        -- (no size check: the top spec's, docpal_private.filter_conditions, counts its embeds)
        for v_key in select k from pg_catalog.jsonb_object_keys(p_spec) k loop
            if v_key not in ('columns', 'filters', 'sort', 'limit') then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('unknown key %L in an embed (columns, filters, sort, limit)', v_key);
            end if;
        end loop;
    else
        -- the table and the tables its relations point at, in one catalog read;
        -- for a company that Citus holds, from the coordinator's copy (migration
        -- 0011), which saves the query a round trip to the worker
        if docpal_private.company_distributed(p_schema) then
            select pg_catalog.jsonb_object_agg(s.slug, s.spec) into v_specs
              from docpal_private.table_specs s
             where s.company_id = (p_caller->>'company_id')::uuid
               and (s.slug = p_slug or s.slug in (select col->>'target'
                                                    from docpal_private.table_specs r,
                                                         pg_catalog.jsonb_array_elements(r.spec->'columns') col
                                                   where r.company_id = (p_caller->>'company_id')::uuid and r.slug = p_slug));
        else
            execute pg_catalog.format(
                'select pg_catalog.jsonb_object_agg(c.slug, c.spec) from %1$I._catalog c
                  where c.kind = ''table''
                    and (c.slug = $1 or c.slug in (select col->>''target''
                                                      from %1$I._catalog r, pg_catalog.jsonb_array_elements(r.spec->''columns'') col
                                                     where r.kind = ''table'' and r.slug = $1))', p_schema)
               into v_specs using p_slug;
        end if;
        v_spec := v_specs->p_slug;
        if v_spec is null then
            raise exception using errcode = '42P01', message = pg_catalog.format('table %L does not exist', p_slug);
        end if;
        -- permissions: read on the table (42501), and for a member the column
        -- allow-lists (checked in q_path, table by table) and the row filter
        -- (ANDed into the WHERE below, so it is part of the one statement)
        v_perm := docpal_private.require_permission(docpal_private.q_caller(p_caller), p_slug, 'read');
        v_state := docpal_private.q_state(p_schema, p_slug, v_specs,
            case when p_caller->>'member_role' not in ('owner', 'admin') then pg_catalog.jsonb_build_object(
                'user_id', p_caller->'user_id', 'role', p_caller->'member_role', 'scopes', p_caller->'scopes') end,
            v_perm);
        perform docpal_private.q_check_spec(p_spec);
        for v_key in select k from pg_catalog.jsonb_object_keys(p_spec) k loop
            if v_key not in ('columns', 'filters', 'search', 'sort', 'limit', 'offset', 'count') and v_key <> all (p_extra_keys) then
                raise exception using errcode = '22023', message = pg_catalog.format('unknown key %L in query spec', v_key);
            end if;
        end loop;
    end if;

    if p_spec ? 'columns' then
        if pg_catalog.jsonb_typeof(p_spec->'columns') <> 'array' or pg_catalog.jsonb_array_length(p_spec->'columns') = 0
           or exists (select from pg_catalog.jsonb_array_elements(p_spec->'columns') c
                       where pg_catalog.jsonb_typeof(c) not in ('string', 'object')) then
            raise exception using errcode = '22023', message = 'columns must be a non-empty array of paths and embeds';
        end if;
        for v_item in select pg_catalog.jsonb_array_elements(p_spec->'columns') loop
            if pg_catalog.jsonb_typeof(v_item) = 'object' then
                -- an embed: {"students": {"columns": [...], ...}}
                if (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(v_item)) <> 1 then
                    raise exception using errcode = '22023', message = 'an embed is an object of one key: {"students": {...}}';
                end if;
                v_path := (select k from pg_catalog.jsonb_object_keys(v_item) k);
                select q.p_state, q.o_sql into v_state, v_expr from docpal_private.q_embed(v_state, v_path, v_item->v_path) q;
            else
                v_path := v_item #>> '{}';
                select q.p_state, q.o_sql into v_state, v_expr from docpal_private.q_path(v_state, v_path, false) q;
                -- a column of a joined table: the page must be joined back to build the JSON
                v_joined := v_joined or (v_state->>'joined')::boolean;
            end if;
            v_pairs[pg_catalog.cardinality(v_pairs) + 1] := pg_catalog.format('%L, %s', v_path, v_expr);
            if v_state->'params' <> '[]'::jsonb then
                v_params := v_params || array(select pg_catalog.jsonb_array_elements(v_state->'params'));
            end if;
            v_state := v_state || pg_catalog.jsonb_build_object('params', '[]'::jsonb, 'base', v_base0 + pg_catalog.cardinality(v_params));
        end loop;
        v_state := v_state || pg_catalog.jsonb_build_object('select', docpal_private.q_json_object_sql(v_pairs));
    else
        -- every column the member may read, each masked where only some
        -- grants cover it (its value is null on the other rows)
        if v_state ? 'who' then
            for v_column in select c from pg_catalog.jsonb_array_elements(v_spec->'columns') c
                             where not (c->>'name' = any (docpal_private.unreadable_columns(v_spec, v_perm))) loop
                select m.p_state, m.o_cond, m.o_joined into v_state, v_cond, v_cond_joined
                  from docpal_private.q_cell_condition(v_state, p_slug, v_alias, v_column->>'name') m;
                if v_cond is not null then
                    v_masked[pg_catalog.cardinality(v_masked) + 1] := pg_catalog.format(
                        '%L, case when %s then _r.r->%L end', v_column->>'name', v_cond, v_column->>'name');
                    v_joined := v_joined or v_cond_joined;
                end if;
            end loop;
        end if;
        v_expr := case when pg_catalog.cardinality(docpal_private.unreadable_columns(v_spec, v_perm)) = 0
                       then docpal_private.record_sql(p_schema, v_spec, v_alias)
                       else pg_catalog.format('(%s) - %L::text[]', docpal_private.record_sql(p_schema, v_spec, v_alias),
                                              docpal_private.unreadable_columns(v_spec, v_perm)) end;
        if pg_catalog.cardinality(v_masked) > 0 then
            v_expr := pg_catalog.format('(select _r.r || %s from (select %s as r) _r)', docpal_private.q_json_object_sql(v_masked), v_expr);
        end if;
        v_state := v_state || pg_catalog.jsonb_build_object('select', v_expr);
    end if;

    if p_spec ? 'filters' then
        select f.p_state, f.o_sql into v_state, v_where from docpal_private.q_filter(v_state, p_spec->'filters') f;
    end if;

    -- (a child query's row filter is in its link condition: docpal_private.q_child_where)
    if p_child is null and v_state ? 'who' and v_perm->'row_filter' is not null and v_perm->'row_filter' <> 'null' then
        -- the filter may name columns the member cannot read: compiled unchecked
        select f.p_state, f.o_sql into v_state, v_expr
          from docpal_private.q_filter(v_state || '{"unchecked": true}', v_perm->'row_filter') f;
        v_state := v_state - 'unchecked';
        v_where := '(' || v_where || ') and (' || v_expr || ')';
    end if;

    -- the filters' parameters join the gathered ones
    if v_state->'params' <> '[]'::jsonb then
        v_params := v_params || array(select pg_catalog.jsonb_array_elements(v_state->'params'));
    end if;
    v_state := v_state || pg_catalog.jsonb_build_object('params', '[]'::jsonb, 'base', v_base0 + pg_catalog.cardinality(v_params));

    if p_spec ? 'search' and p_spec->'search' <> 'null'::jsonb then
        -- (its own function: compiled only by a backend that searches)
        select q.p_state, q.o_sql into v_state, v_expr
          from docpal_private.q_search(v_state, p_slug, v_spec, v_perm, v_alias, p_spec->'search') q;
        v_where := v_where || v_expr;
    end if;

    if v_state->'params' <> '[]'::jsonb then
        v_params := v_params || array(select pg_catalog.jsonb_array_elements(v_state->'params'));
    end if;
    v_state := v_state || pg_catalog.jsonb_build_object('params', '[]'::jsonb, 'base', v_base0 + pg_catalog.cardinality(v_params));

    if p_spec ? 'sort' then
        if pg_catalog.jsonb_typeof(p_spec->'sort') <> 'array'
           or exists (select from pg_catalog.jsonb_array_elements(p_spec->'sort') c where pg_catalog.jsonb_typeof(c) <> 'string') then
            raise exception using errcode = '22023', message = 'sort must be an array of paths';
        end if;
        for v_path in select pg_catalog.jsonb_array_elements_text(p_spec->'sort') loop
            select q.p_state, q.o_sql into v_state, v_expr
              from docpal_private.q_path(v_state, pg_catalog.ltrim(v_path, '-'), false) q;
            v_order[pg_catalog.cardinality(v_order) + 1] := v_expr || case when v_path like '-%' then ' desc' else '' end;
            v_sort_items[pg_catalog.cardinality(v_sort_items) + 1] := pg_catalog.jsonb_build_object('expr', v_expr, 'desc', v_path like '-%');
            if v_state->'params' <> '[]'::jsonb then
                v_params := v_params || array(select pg_catalog.jsonb_array_elements(v_state->'params'));
            end if;
            v_state := v_state || pg_catalog.jsonb_build_object('params', '[]'::jsonb, 'base', v_base0 + pg_catalog.cardinality(v_params));
        end loop;
        v_items := pg_catalog.to_jsonb(v_sort_items);
    end if;
    -- a total order: pages never overlap (and the last key is the id)
    v_order := v_order || (pg_catalog.quote_ident(v_alias) || '.id');
    v_items := v_items || pg_catalog.jsonb_build_object('expr', pg_catalog.quote_ident(v_alias) || '.id', 'desc', false);

    if p_spec ? 'limit' then
        if pg_catalog.jsonb_typeof(p_spec->'limit') <> 'number' or (p_spec->>'limit')::numeric not between 1 and 1000
           or (p_spec->>'limit')::numeric <> pg_catalog.trunc((p_spec->>'limit')::numeric) then
            raise exception using errcode = '22023', message = 'limit is a whole number from 1 to 1000';
        end if;
        v_limit := (p_spec->>'limit')::integer;
    end if;
    if p_spec ? 'offset' then
        if pg_catalog.jsonb_typeof(p_spec->'offset') <> 'number' or (p_spec->>'offset')::numeric < 0
           or (p_spec->>'offset')::numeric > 1e15
           or (p_spec->>'offset')::numeric <> pg_catalog.trunc((p_spec->>'offset')::numeric) then
            raise exception using errcode = '22023', message = 'offset is a whole number of at least 0';
        end if;
        v_offset := (p_spec->>'offset')::bigint;
    end if;
    if p_spec ? 'count' and (pg_catalog.jsonb_typeof(p_spec->'count') <> 'string'
                             or p_spec->>'count' not in ('exact', 'estimated', 'none')) then
        raise exception using errcode = '22023', message = 'count is exact, estimated or none';
    end if;

    -- the whole parameter list, once: those gathered, then the state's latest
    if v_state->'params' <> '[]'::jsonb then
        v_params := v_params || array(select pg_catalog.jsonb_array_elements(v_state->'params'));
    end if;
    return (v_state - 'base') || pg_catalog.jsonb_build_object(
        'params', pg_catalog.to_jsonb(v_params),
        'where', v_where,
        'order', pg_catalog.array_to_string(v_order, ', '),
        'order_items', v_items,
        'limit', v_limit,
        'offset', v_offset,
        'count', coalesce(p_spec->>'count', 'exact'),
        'select_joined', v_joined)
        || case when p_child is null then '{}'::jsonb else pg_catalog.jsonb_build_object('base', v_base0) end;
end
$$;
