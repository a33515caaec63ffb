create or replace function docpal_private.q_breadcrumb_statement(
    p_caller jsonb, p_slug text, p_spec jsonb,
    out o_sql text, out o_params jsonb, out o_kept uuid[], out o_labels jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The statement docpal.query_breadcrumb runs for the spec, for the caller
   p_caller (docpal_private.require_company() as jsonb, looked up once by
   the public function), and its parameters: $1 = o_params, $2 = o_kept (the
   chain of ids the caller may see, record first), $3 = o_labels (id ->
   whether its label is readable). The chain is read here (a statement of
   its own: which rows it holds decides the last two parameters). */
declare
    v_spec jsonb := docpal_private.q_check_spec(p_spec);
    v_state jsonb;
    v_label text;
    v_id uuid;
    v_sql text;
    v_chain uuid[];
    v_perm jsonb;
    v_label_column text;
begin
    perform docpal_private.q_reject_keys(v_spec - 'id' - 'parent' - 'label',
                                    array(select pg_catalog.jsonb_object_keys(v_spec - 'id' - 'parent' - 'label')),
                                    'query_breadcrumb');
    v_state := docpal_private.q_compile(p_caller, p_slug, '{}');
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
    perform docpal_private.q_check_self_parent(v_state, p_slug, v_spec->>'parent');
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
        v_spec->>'parent', (p_caller->>'schema_name'), p_slug)
       into v_chain using v_id;
    v_perm := docpal_private.permission(docpal_private.q_caller(p_caller), p_slug, 'read');
    v_label_column := pg_catalog.split_part(v_spec->>'label', '.', 1);
    with cells as (
             select x.id, x.o, coalesce(true = any (c.matched), false) as seen,
                    docpal_private.cell_columns(v_perm->'grants', c.matched) as readable
               from pg_catalog.unnest(v_chain) with ordinality x(id, o)
               left join docpal_private.record_cells((p_caller->>'schema_name'), v_state->'specs'->p_slug, v_perm->'grants', v_chain) c
                 on c.id = x.id)
    select pg_catalog.array_agg(c.id order by c.o),
           pg_catalog.jsonb_object_agg(c.id, c.readable is null or v_label_column = any (c.readable)
                                             or v_label_column in ('id', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by'))
      into o_kept, o_labels
      from cells c
     where c.o < coalesce((select pg_catalog.min(h.o) from cells h where not h.seen), pg_catalog.cardinality(v_chain) + 1);
    v_sql := pg_catalog.format(
        'select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    ''id'', _t.id, ''label'', case when ($3->>(_t.id::text))::boolean then %1$s end) order by _k.o desc)
           from %2$s join pg_catalog.unnest($2::uuid[]) with ordinality _k(id, o) on _k.id = _t.id
          where %3$s',
        v_label, docpal_private.q_from(v_state, false), v_state->>'where');
    o_sql := v_sql;
    o_params := v_state->'params';
end
$$;
