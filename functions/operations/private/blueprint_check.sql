create or replace function docpal_private.blueprint_check(p_blueprint jsonb)
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The shape of a blueprint document (contract section 8, docs/blueprints.md),
   checked before apply_blueprint changes anything: 22023 for an unknown key,
   a name that is not ^[a-z][a-z0-9_-]{0,62}$, a version that is not a whole
   number from 1 to 2147483647, a section of the wrong JSON type, an element
   without its identifying key (a table's slug, a type list's slug, a role's
   or workflow's name, a grant's role, table and actions, an event rule's
   table, a report's slug and table), or the same table slug, type list,
   role, workflow or report given twice; a report that is not {slug, name,
   description, table, kind, spec, params, schedule} with a known kind, an
   object spec and params, and a schedule that is null or a cron expression
   (docpal_private.cron_check), checked here because a report the company
   already has is not handed to save_report. What each element holds is
   checked by the public function it is handed to (create_table,
   define_workflow, save_report ...). Returns p_blueprint with every
   section present (an absent one is empty). */
declare
    v_section text;
    v_type text;
    v_bad text;
    v_report text;
    v_schedule text;
    v_message text;
begin
    perform docpal_private.check_keys(p_blueprint, 'a blueprint must be a JSON object',
        array['name', 'version', 'description', 'type_lists', 'tables', 'workflows', 'event_rules', 'roles',
              'grants', 'records', 'reports'],
        'unknown blueprint key %L',
        'A blueprint has name, version, description, type_lists, tables, workflows, event_rules, roles, grants, records and reports.');
    if pg_catalog.jsonb_typeof(p_blueprint->'name') is distinct from 'string'
       or p_blueprint->>'name' !~ '^[a-z][a-z0-9_-]{0,62}$' then
        raise exception using errcode = '22023', message = 'a blueprint needs a name: a lower-case letter, then up to 62 letters, digits, _ or -';
    end if;
    if not docpal_private.whole_number(p_blueprint->'version', 1, 2147483647) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('blueprint %s: version must be a whole number from 1 to 2147483647', p_blueprint->>'name');
    end if;
    if p_blueprint ? 'description' and pg_catalog.jsonb_typeof(p_blueprint->'description') not in ('string', 'null') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('blueprint %s: description must be a string', p_blueprint->>'name');
    end if;
    foreach v_section in array array['type_lists', 'tables', 'workflows', 'event_rules', 'roles', 'grants', 'reports'] loop
        v_type := coalesce(pg_catalog.jsonb_typeof(p_blueprint->v_section), 'null');
        if v_type not in ('array', 'null') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('blueprint %s: %s must be an array', p_blueprint->>'name', v_section);
        end if;
        if v_section <> 'roles' and exists (select from pg_catalog.jsonb_array_elements(coalesce(p_blueprint->v_section, '[]')) e
                                             where pg_catalog.jsonb_typeof(e) <> 'object') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('blueprint %s: every element of %s must be a JSON object', p_blueprint->>'name', v_section);
        end if;
    end loop;
    v_type := coalesce(pg_catalog.jsonb_typeof(p_blueprint->'records'), 'null');
    if v_type not in ('object', 'null')
       or exists (select from pg_catalog.jsonb_each(coalesce(p_blueprint->'records', '{}')) r
                   where pg_catalog.jsonb_typeof(r.value) <> 'array') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('blueprint %s: records must be an object {table slug: [records]}', p_blueprint->>'name');
    end if;
    -- the identifying key of each element, given once
    select s.section into v_bad
      from (values ('type_lists', 'slug'), ('tables', 'slug'), ('workflows', 'name'), ('reports', 'slug')) s(section, key)
     where exists (select from pg_catalog.jsonb_array_elements(coalesce(p_blueprint->s.section, '[]')) e
                    where pg_catalog.jsonb_typeof(e->s.key) is distinct from 'string')
        or (select pg_catalog.count(distinct e->>s.key) <> pg_catalog.count(*)
              from pg_catalog.jsonb_array_elements(coalesce(p_blueprint->s.section, '[]')) e)
     limit 1;
    if v_bad is not null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('blueprint %s: every element of %s needs its own %s', p_blueprint->>'name', v_bad,
                                        case when v_bad = 'workflows' then 'name' else 'slug' end);
    end if;
    if exists (select from pg_catalog.jsonb_array_elements(coalesce(p_blueprint->'roles', '[]')) r
                where not (pg_catalog.jsonb_typeof(r) = 'string'
                           or pg_catalog.jsonb_typeof(r) = 'object' and pg_catalog.jsonb_typeof(r->'name') = 'string'
                              and pg_catalog.jsonb_typeof(coalesce(r->'parent', 'null')) in ('string', 'null')
                              and not exists (select from pg_catalog.jsonb_object_keys(r) k where k not in ('name', 'parent'))))
       or (select pg_catalog.count(distinct coalesce(r->>'name', r #>> '{}')) <> pg_catalog.count(*)
             from pg_catalog.jsonb_array_elements(coalesce(p_blueprint->'roles', '[]')) r) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('blueprint %s: roles are distinct names, or objects {name, parent}', p_blueprint->>'name');
    end if;
    if exists (select from pg_catalog.jsonb_array_elements(coalesce(p_blueprint->'grants', '[]')) g
                where pg_catalog.jsonb_typeof(g->'role') is distinct from 'string'
                   or pg_catalog.jsonb_typeof(g->'table') is distinct from 'string'
                   or pg_catalog.jsonb_typeof(g->'actions') is distinct from 'array'
                   or exists (select from pg_catalog.jsonb_array_elements(g->'actions') a where pg_catalog.jsonb_typeof(a) <> 'string')
                   or exists (select from pg_catalog.jsonb_object_keys(g) k
                               where k not in ('role', 'table', 'actions', 'columns', 'row_filter'))) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('blueprint %s: a grant is {role, table, actions, columns, row_filter}', p_blueprint->>'name');
    end if;
    if exists (select from pg_catalog.jsonb_array_elements(coalesce(p_blueprint->'event_rules', '[]')) r
                where pg_catalog.jsonb_typeof(r->'table') is distinct from 'string') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('blueprint %s: every event rule needs a table', p_blueprint->>'name');
    end if;
    if exists (select from pg_catalog.jsonb_array_elements(coalesce(p_blueprint->'reports', '[]')) r
                where pg_catalog.jsonb_typeof(r->'table') is distinct from 'string'
                   or coalesce(r->>'kind', '') not in ('query', 'aggregate', 'kanban', 'calendar')
                   or pg_catalog.jsonb_typeof(coalesce(r->'spec', '{}')) <> 'object'
                   or pg_catalog.jsonb_typeof(coalesce(r->'params', '{}')) <> 'object'
                   or pg_catalog.jsonb_typeof(coalesce(r->'schedule', 'null')) not in ('string', 'null')
                   or exists (select from pg_catalog.jsonb_object_keys(r) k
                               where k not in ('slug', 'name', 'description', 'table', 'kind', 'spec', 'params', 'schedule'))) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('blueprint %s: a report is {slug, name, description, table, kind, spec, params, schedule}',
                                        p_blueprint->>'name'),
            hint = 'kind is query, aggregate, kanban or calendar; spec and params are objects; schedule a cron expression or null.';
    end if;
    -- a schedule cron_check refuses: its 22023, with the report named
    for v_report, v_schedule in
        select r->>'slug', r->>'schedule' from pg_catalog.jsonb_array_elements(coalesce(p_blueprint->'reports', '[]')) r
         where pg_catalog.jsonb_typeof(r->'schedule') = 'string'
    loop
        begin
            perform docpal_private.cron_check(v_schedule);
        exception when invalid_parameter_value then
            get stacked diagnostics v_message = message_text;
            raise exception using errcode = '22023',
                message = pg_catalog.format('blueprint %s: report %s: %s', p_blueprint->>'name', v_report, v_message);
        end;
    end loop;
    return p_blueprint || pg_catalog.jsonb_build_object(
        'type_lists', coalesce(p_blueprint->'type_lists', '[]'), 'tables', coalesce(p_blueprint->'tables', '[]'),
        'workflows', coalesce(p_blueprint->'workflows', '[]'), 'event_rules', coalesce(p_blueprint->'event_rules', '[]'),
        'roles', coalesce(p_blueprint->'roles', '[]'), 'grants', coalesce(p_blueprint->'grants', '[]'),
        'records', coalesce(p_blueprint->'records', '{}'), 'reports', coalesce(p_blueprint->'reports', '[]'));
end
$$;
