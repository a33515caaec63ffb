-- grant: docpal_service, docpal_app
create or replace function docpal.create_event_rule(spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* A rule that names a workflow for matching events: spec {table, actions,
   when, workflow, task_queue}. actions: any of INSERT, UPDATE, DELETE,
   ROLLBACK, RESTORE (any case; all of them when absent); when: a filter in
   the query engine's syntax on the table's own columns, evaluated on the
   written row (the new row; the old one for DELETE); workflow: the
   workflow's name; task_queue: its Temporal task queue (default "docpal").
   Matching events carry {"workflow": {"name", "task_queue"}}; the first
   matching rule, in the order they were made, wins. Owners and admins
   only. Returns the rule with its id. */
declare
    v_ctx record;
    v_table jsonb;
    v_key text;
    v_action text;
    v_actions text[] := '{}';
    v_rule jsonb;
begin
    perform docpal_private.check_spec_size(create_event_rule.spec, 'create_event_rule');
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.check_keys(create_event_rule.spec, 'an event rule must be a JSON object',
        array['table', 'actions', 'when', 'workflow', 'task_queue'], 'unknown event rule key %L',
        'An event rule has table, actions, when, workflow and task_queue.');
    if pg_catalog.jsonb_typeof(create_event_rule.spec->'table') is distinct from 'string' then
        raise exception using errcode = '22023', message = 'an event rule needs a table';
    end if;
    v_table := docpal_private.table_spec(v_ctx.schema_name, create_event_rule.spec->>'table');
    if pg_catalog.jsonb_typeof(create_event_rule.spec->'workflow') is distinct from 'string'
       or create_event_rule.spec->>'workflow' !~ '[^[:space:]]' then
        raise exception using errcode = '22023', message = 'an event rule needs a workflow name';
    end if;
    if create_event_rule.spec ? 'task_queue' and (pg_catalog.jsonb_typeof(create_event_rule.spec->'task_queue') <> 'string'
                                                  or create_event_rule.spec->>'task_queue' !~ '[^[:space:]]') then
        raise exception using errcode = '22023', message = 'an event rule''s task_queue must be a non-empty string';
    end if;
    if create_event_rule.spec ? 'actions' then
        if pg_catalog.jsonb_typeof(create_event_rule.spec->'actions') <> 'array'
           or pg_catalog.jsonb_array_length(create_event_rule.spec->'actions') = 0 then
            raise exception using errcode = '22023', message = 'an event rule''s actions must be a non-empty array';
        end if;
        for v_action in select pg_catalog.upper(a) from pg_catalog.jsonb_array_elements_text(create_event_rule.spec->'actions') a loop
            if v_action not in ('INSERT', 'UPDATE', 'DELETE', 'ROLLBACK', 'RESTORE') then
                raise exception using errcode = '22023', message = pg_catalog.format('unknown event action %L', v_action),
                    hint = 'Actions are INSERT, UPDATE, DELETE, ROLLBACK and RESTORE.';
            end if;
            if v_action <> all (v_actions) then
                v_actions := v_actions || v_action;
            end if;
        end loop;
    else
        v_actions := array['INSERT', 'UPDATE', 'DELETE', 'ROLLBACK', 'RESTORE'];
    end if;
    v_rule := pg_catalog.jsonb_build_object(
        'id', pg_catalog.gen_random_uuid(), 'table', create_event_rule.spec->'table', 'actions', pg_catalog.to_jsonb(v_actions),
        'when', coalesce(create_event_rule.spec->'when', 'null'::jsonb), 'workflow', create_event_rule.spec->'workflow',
        'task_queue', coalesce(create_event_rule.spec->'task_queue', '"docpal"'::jsonb));
    -- compiled once here for its errors (22023, 42703); the capture function bakes it in
    perform docpal_private.event_rule_sql(v_ctx.schema_name, v_table, v_rule->'when', '_n');
    execute pg_catalog.format('insert into %I._catalog (kind, slug, spec) values ($1, $2, $3) returning created_at', v_ctx.schema_name)
       into v_key using 'event_rule', v_rule->>'id', v_rule;
    perform docpal_private.audit_triggers(v_ctx.schema_name, v_table);
    return v_rule || pg_catalog.jsonb_build_object('created_at', v_key::timestamptz);
end
$$;
