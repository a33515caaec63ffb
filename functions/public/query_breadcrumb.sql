-- grant: docpal_service, docpal_app
create or replace function docpal.query_breadcrumb(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {path: [{id, label}]}: the ancestors of record id through the self
   relation parent, root first, ending with the record itself. A recursive
   CTE walks up with a visited-path guard (a cycle ends the walk) and at most
   100 steps. P0002 when the record does not exist. */
declare
    v_ctx record;
    v_spec jsonb := docpal_private.q_spec(query_breadcrumb.spec);
    v_state jsonb;
    v_parent jsonb;
    v_label text;
    v_id uuid;
    v_ref text;
    v_sql text;
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    perform docpal_private.q_reject(v_spec - 'id' - 'parent' - 'label',
                                    array(select pg_catalog.jsonb_object_keys(v_spec - 'id' - 'parent' - 'label')),
                                    'query_breadcrumb');
    v_state := docpal_private.q_compile(v_ctx.schema_name, query_breadcrumb.slug, '{}');
    begin
        v_id := (v_spec->>'id')::uuid;
    exception when invalid_text_representation then
        v_id := null;
    end;
    if v_id is null or pg_catalog.jsonb_typeof(v_spec->'id') <> 'string' then
        raise exception using errcode = '22023', message = 'query_breadcrumb needs id: a record id';
    end if;
    if pg_catalog.jsonb_typeof(v_spec->'parent') is distinct from 'string' or pg_catalog.jsonb_typeof(v_spec->'label') is distinct from 'string' then
        raise exception using errcode = '22023', message = 'query_breadcrumb needs parent (a self relation) and label (a path)';
    end if;
    v_parent := docpal_private.column_spec(v_state->'specs'->query_breadcrumb.slug, v_spec->>'parent');
    if v_parent->>'type' <> 'relation' or v_parent->>'target' <> query_breadcrumb.slug then
        raise exception using errcode = '22023',
            message = pg_catalog.format('parent %s must be a relation of %s to itself', v_spec->>'parent', query_breadcrumb.slug);
    end if;
    select q.p_state, q.o_sql into v_state, v_label from docpal_private.q_path(v_state, v_spec->>'label', false) q;
    -- the parent column must be readable too (a member's allow-list)
    select q.p_state into v_state from docpal_private.q_path(v_state, v_spec->>'parent', false) q;
    select q.p_state, q.o_ref into v_state, v_ref from docpal_private.q_param(v_state, v_spec->'id') q;
    v_sql := pg_catalog.format(
        'with recursive _up(id, parent, depth, seen) as (
             select _b.id, _b.%1$I, 1, array[_b.id] from %2$I.%3$I _b where _b.id = (%4$s #>> ''{}'')::uuid
             union all
             select _p.id, _p.%1$I, _up.depth + 1, _up.seen || _p.id
               from _up join %2$I.%3$I _p on _p.id = _up.parent
              where _p.id <> all (_up.seen) and _up.depth < 100)
         select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''id'', _t.id, ''label'', %5$s) order by _up.depth desc)
           from %6$s join _up on _up.id = _t.id
          where %7$s',
        v_parent->>'name', v_ctx.schema_name, query_breadcrumb.slug, v_ref, v_label, docpal_private.q_from(v_state, false),
        v_state->>'where');
    execute v_sql into v_result using v_state->'params';
    if v_result is null then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', v_id, query_breadcrumb.slug);
    end if;
    return pg_catalog.jsonb_build_object('path', v_result);
end
$$;
