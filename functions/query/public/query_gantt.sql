-- grant: docpal_service, docpal_app
create or replace function docpal.query_gantt(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {tasks: [{id, label, start, end, dependencies}]}: start and end are date
   or datetime paths, label a path, dependencies an optional relation_many of
   the table to itself; sorted by spec.sort, else by start. */
declare
    v_ctx record;
    v_spec jsonb := docpal_private.q_spec(query_gantt.spec);
    v_state jsonb;
    v_key text;
    v_sql text;
    v_kind text;
    v_column jsonb;
    v_parts jsonb := '{}';
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    perform docpal_private.q_reject(v_spec, array['columns', 'count'], 'query_gantt');
    v_state := docpal_private.q_compile(v_ctx.schema_name, query_gantt.slug,
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
        if v_key = 'dependencies' and (v_kind <> 'relation_many' or v_column->>'target' <> query_gantt.slug) then
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
        v_state := docpal_private.q_order_by(v_state, v_parts->>'start');
    end if;
    v_sql := docpal_private.q_rows_sql(v_state);
    execute v_sql into v_result using v_state->'params';
    return pg_catalog.jsonb_build_object('tasks', v_result);
end
$$;
