-- grant: docpal_service, docpal_app
create or replace function docpal.query_dropdown(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {options: [{id, label}]}: label is a path; search keeps the options whose
   label contains it, ignoring case; ordered by label (or spec.sort). */
declare
    v_ctx record;
    v_spec jsonb := docpal_private.q_spec(query_dropdown.spec);
    v_state jsonb;
    v_label text;
    v_ref text;
    v_sql text;
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    perform docpal_private.q_reject(v_spec, array['columns', 'count'], 'query_dropdown');
    v_state := docpal_private.q_compile(v_ctx.schema_name, query_dropdown.slug, v_spec - 'label' - 'search');
    if pg_catalog.jsonb_typeof(v_spec->'label') is distinct from 'string' then
        raise exception using errcode = '22023', message = 'query_dropdown needs label: a path';
    end if;
    select q.p_state, q.o_sql into v_state, v_label from docpal_private.q_path(v_state, v_spec->>'label', true) q;
    if v_spec ? 'search' and v_spec->'search' <> 'null'::jsonb then
        if pg_catalog.jsonb_typeof(v_spec->'search') <> 'string' then
            raise exception using errcode = '22023', message = 'search must be a string';
        end if;
        select q.p_state, q.o_ref into v_state, v_ref from docpal_private.q_param(v_state, v_spec->'search') q;
        v_state := pg_catalog.jsonb_set(v_state, '{where}', pg_catalog.to_jsonb(pg_catalog.format(
            '%s and pg_catalog.strpos(pg_catalog.lower((%s)::text), pg_catalog.lower(%s #>> ''{}'')) > 0',
            v_state->>'where', v_label, v_ref)));
    end if;
    v_state := v_state || pg_catalog.jsonb_build_object(
        'select', pg_catalog.format('pg_catalog.jsonb_build_object(''id'', _t.id, ''label'', %s)', v_label),
        'select_joined', true);  -- the label may come through a relation
    if not v_spec ? 'sort' then
        v_state := docpal_private.q_order_by(v_state, v_label);
    end if;
    v_sql := docpal_private.q_rows_sql(v_state);
    execute v_sql into v_result using v_state->'params';
    return pg_catalog.jsonb_build_object('options', v_result);
end
$$;
