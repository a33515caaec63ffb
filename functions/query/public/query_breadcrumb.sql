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
   100 steps. The walk stops at the first ancestor no read grant of the
   caller covers (it and everything above it are left out: a hidden row is
   never walked through), and a label the caller may not read on its row
   (grants combine cell by cell) is null. P0002 when the record does not
   exist or the caller may not see it. */
declare
    v_ctx record;
    v_spec jsonb := docpal_private.q_spec(query_breadcrumb.spec);
    v_state jsonb;
    v_parent jsonb;
    v_label text;
    v_id uuid;
    v_sql text;
    v_result jsonb;
    v_chain uuid[];
    v_perm jsonb;
    v_kept uuid[];
    v_labels jsonb;
    v_label_column text;
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
    -- the chain of ids upwards (record first), then which of them the caller may see, in one statement
    execute pg_catalog.format(
        'with recursive _up(id, parent, depth, seen) as (
             select _b.id, _b.%1$I, 1, array[_b.id] from %2$I.%3$I _b where _b.id = $1
             union all
             select _p.id, _p.%1$I, _up.depth + 1, _up.seen || _p.id
               from _up join %2$I.%3$I _p on _p.id = _up.parent
              where _p.id <> all (_up.seen) and _up.depth < 100)
         select pg_catalog.array_agg(_up.id order by _up.depth) from _up',
        v_parent->>'name', v_ctx.schema_name, query_breadcrumb.slug)
       into v_chain using v_id;
    v_perm := docpal_private.permission(v_ctx.schema_name, v_ctx.user_id, v_ctx.member_role, v_ctx.scopes,
                                        query_breadcrumb.slug, 'read');
    v_label_column := pg_catalog.split_part(v_spec->>'label', '.', 1);
    with cells as (
             select x.id, x.o, coalesce(true = any (c.matched), false) as seen,
                    docpal_private.cell_columns(v_perm->'grants', c.matched) as readable
               from pg_catalog.unnest(v_chain) with ordinality x(id, o)
               left join docpal_private.record_cells(v_ctx.schema_name, v_state->'specs'->query_breadcrumb.slug, v_perm->'grants', v_chain) c
                 on c.id = x.id)
    select pg_catalog.array_agg(c.id order by c.o),
           pg_catalog.jsonb_object_agg(c.id, c.readable is null or v_label_column = any (c.readable)
                                             or v_label_column in ('id', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by'))
      into v_kept, v_labels
      from cells c
     where c.o < coalesce((select pg_catalog.min(h.o) from cells h where not h.seen), pg_catalog.cardinality(v_chain) + 1);
    v_sql := pg_catalog.format(
        'select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    ''id'', _t.id, ''label'', case when ($3->>(_t.id::text))::boolean then %1$s end) order by _k.o desc)
           from %2$s join pg_catalog.unnest($2::uuid[]) with ordinality _k(id, o) on _k.id = _t.id
          where %3$s',
        v_label, docpal_private.q_from(v_state, false), v_state->>'where');
    execute v_sql into v_result using v_state->'params', v_kept, v_labels;
    if v_result is null then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', v_id, query_breadcrumb.slug);
    end if;
    return pg_catalog.jsonb_build_object('path', v_result);
end
$$;
