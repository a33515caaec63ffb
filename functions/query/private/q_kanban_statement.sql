create or replace function docpal_private.q_kanban_statement(
    p_caller jsonb, p_slug text, p_spec jsonb, out o_sql text, out o_params jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The statement docpal.query_kanban runs for the spec (o_sql, $1 = o_params), for the
   caller p_caller (docpal_private.require_company() as jsonb, looked up once
   by the public function): everything query_kanban does but running it.
   Lanes of a relation may carry a label read from the target record
   (lane_label, a path on the target table): the path group_by.lane_label,
   compiled as any path is, so the member must be able to read it (42501)
   and a target row outside their row filter gives a null label. */
declare
    v_spec jsonb := docpal_private.q_check_spec(p_spec);
    v_state jsonb;
    v_column jsonb;
    v_lane text;
    v_limit integer := 50;
    v_options text;
    v_lanes text;
    v_page text;
    v_null_page text;
    v_page_state jsonb;
    v_sql text;
    v_label text;               -- the lane's label (lane_label), or null
begin
    perform docpal_private.q_reject_keys(v_spec, array['limit', 'offset', 'count'], 'query_kanban');
    v_state := docpal_private.q_compile(p_caller, p_slug, v_spec - 'group_by' - 'limit_per_group' - 'lane_label');
    if pg_catalog.jsonb_typeof(v_spec->'group_by') is distinct from 'string' then
        raise exception using errcode = '22023', message = 'query_kanban needs group_by: a select or relation column';
    end if;
    v_column := docpal_private.column_spec(v_state->'specs'->p_slug, v_spec->>'group_by');
    if v_column->>'type' not in ('select', 'relation') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('group_by %s is a %s column, not select or relation', v_spec->>'group_by', v_column->>'type');
    end if;
    -- the group_by column must be readable too (a member's allow-list), and
    -- lanes group by its value as the member may read it (null where a
    -- grant's row filter hides the cell)
    select q.p_state, q.o_sql into v_state, v_lane from docpal_private.q_path(v_state, v_spec->>'group_by', true) q;
    if v_spec ? 'lane_label' then
        if v_column->>'type' <> 'relation' then
            raise exception using errcode = '22023', message = 'lane_label labels the lanes of a relation; group_by is a select column';
        end if;
        if pg_catalog.jsonb_typeof(v_spec->'lane_label') <> 'string' then
            raise exception using errcode = '22023', message = 'lane_label must be a path on the target table';
        end if;
        -- read through the relation: the join carries the member's row filter of the target
        select q.p_state, q.o_sql into v_state, v_label
          from docpal_private.q_path(v_state, (v_spec->>'group_by') || '.' || (v_spec->>'lane_label'), true) q;
    end if;
    if v_spec ? 'limit_per_group' then
        if pg_catalog.jsonb_typeof(v_spec->'limit_per_group') <> 'number'
           or (v_spec->>'limit_per_group')::numeric not between 1 and 1000
           or (v_spec->>'limit_per_group')::numeric <> pg_catalog.trunc((v_spec->>'limit_per_group')::numeric) then
            raise exception using errcode = '22023', message = 'limit_per_group is a whole number from 1 to 1000';
        end if;
        v_limit := (v_spec->>'limit_per_group')::integer;
    end if;
    if v_column->>'type' = 'select' then
        select q.p_state, q.o_ref into v_state, v_options
          from docpal_private.q_param(v_state, pg_catalog.to_jsonb(docpal_private.column_options((p_caller->>'schema_name'), v_column))) q;
        v_lanes := pg_catalog.format(
            'select v.value #>> ''{}'' as value, v.ord from pg_catalog.jsonb_array_elements(%s) with ordinality v(value, ord)', v_options);
    else
        v_lanes := 'select _c._lane as value, ' || case when v_label is not null then '_c._label as label, ' else '' end
                   || 'pg_catalog.row_number() over (order by _c._lane) as ord from _c where _c._lane is not null';
    end if;
    -- one lane's page: the lane condition is a plain equality, so an index can serve it
    v_page_state := v_state || pg_catalog.jsonb_build_object('limit', v_limit, 'offset', 0);
    v_page := '(' || docpal_private.q_page_sql(v_page_state, ' and ' || v_lane || ' = _o.value') || ')';
    v_null_page := '(' || docpal_private.q_page_sql(v_page_state, ' and ' || v_lane || ' is null') || ')';
    v_sql := pg_catalog.format(
        'with _c as (select %1$s as _lane%7$s, pg_catalog.count(*) as _n from %2$s where %3$s group by 1%8$s)
         select coalesce(pg_catalog.jsonb_agg(g.j order by g.ord), ''[]'') from (
             select _o.ord, pg_catalog.jsonb_build_object(''value'', _o.value%9$s, ''count'', coalesce(_c._n, 0), ''rows'', %4$s) as j
               from (%5$s) _o left join _c on _c._lane = _o.value
             union all
             select 1e18, pg_catalog.jsonb_build_object(''value'', null%10$s, ''count'', _c._n, ''rows'', %6$s)
               from _c where _c._lane is null) g',
        v_lane, docpal_private.q_from(v_state, true), v_state->>'where',
        v_page, v_lanes, v_null_page,
        case when v_label is not null then ', ' || v_label || ' as _label' else '' end,
        case when v_label is not null then ', 2' else '' end,
        case when v_label is not null then ', ''label'', _o.label' else '' end,
        case when v_label is not null then ', ''label'', null' else '' end);
    o_sql := v_sql;
    o_params := v_state->'params';
end
$$;
