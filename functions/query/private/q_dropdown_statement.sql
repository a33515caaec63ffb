create or replace function docpal_private.q_dropdown_statement(
    p_caller jsonb, p_slug text, p_spec jsonb, out o_sql text, out o_params jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The statement docpal.query_dropdown runs for the spec (o_sql, $1 = o_params), for the
   caller p_caller (docpal_private.require_company() as jsonb, looked up once
   by the public function): everything query_dropdown does but running it. */
declare
    v_spec jsonb := docpal_private.q_check_spec(p_spec);
    v_state jsonb;
    v_label text;
    v_ref text;
    v_sql text;
begin
    perform docpal_private.q_reject_keys(v_spec, array['columns', 'count'], 'query_dropdown');
    v_state := docpal_private.q_compile(p_caller, p_slug, v_spec - 'label' - 'search');
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
        v_state := docpal_private.q_default_order(v_state, v_label);
    end if;
    v_sql := docpal_private.q_page_sql(v_state);
    o_sql := v_sql;
    o_params := v_state->'params';
end
$$;
