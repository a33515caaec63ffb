create or replace function docpal_private.q_gantt_statement(
    p_caller jsonb, p_slug text, p_spec jsonb, out o_sql text, out o_params jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The statement docpal.query_gantt runs for the spec (o_sql, $1 = o_params), for the
   caller p_caller (docpal_private.require_company() as jsonb, looked up once
   by the public function): everything query_gantt does but running it. */
declare
    v_spec jsonb := docpal_private.q_check_spec(p_spec);
    v_state jsonb;
    v_key text;
    v_sql text;
    v_kind text;
    v_column jsonb;
    v_parts jsonb := '{}';
begin
    perform docpal_private.q_reject_keys(v_spec, array['columns', 'count'], 'query_gantt');
    v_state := docpal_private.q_compile(p_caller, p_slug,
                                        v_spec - 'start' - 'end' - 'label' - 'dependencies');
    foreach v_key in array array['start', 'end', 'label', 'dependencies'] loop
        if v_key = 'dependencies' and not v_spec ? v_key then
            v_parts := v_parts || '{"dependencies": "''[]''::jsonb"}';
            continue;
        end if;
        if pg_catalog.jsonb_typeof(v_spec->v_key) is distinct from 'string' then
            raise exception using errcode = '22023', message = pg_catalog.format('query_gantt needs %s: a path', v_key);
        end if;
        select q.p_state, q.o_sql, q.o_kind, q.o_column into v_state, v_sql, v_kind, v_column
          from docpal_private.q_path(v_state, v_spec->>v_key, false) q;
        if v_key in ('start', 'end') and v_kind not in ('date', 'datetime', 'json_path') then
            raise exception using errcode = '22023', message = pg_catalog.format('%s must be a date or datetime column', v_key);
        end if;
        if v_key = 'dependencies' and (v_kind <> 'relation_many' or v_column->>'target' <> p_slug) then
            raise exception using errcode = '22023',
                message = 'dependencies must be a relation_many column of the table to itself';
        end if;
        v_parts := v_parts || pg_catalog.jsonb_build_object(v_key,
            case when v_key = 'dependencies' then pg_catalog.format('pg_catalog.to_jsonb(%s)', v_sql) else v_sql end);
    end loop;
    v_state := v_state || pg_catalog.jsonb_build_object('select_joined', true, 'select', pg_catalog.format(
        'pg_catalog.jsonb_build_object(''id'', _t.id, ''label'', %s, ''start'', %s, ''end'', %s, ''dependencies'', %s)',
        v_parts->>'label', v_parts->>'start', v_parts->>'end', v_parts->>'dependencies'));
    if not v_spec ? 'sort' then
        v_state := docpal_private.q_default_order(v_state, v_parts->>'start');
    end if;
    v_sql := docpal_private.q_page_sql(v_state);
    o_sql := v_sql;
    o_params := v_state->'params';
end
$$;
