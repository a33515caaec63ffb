create or replace function docpal_private.import_begin(p_data jsonb, p_slug text)
    returns uuid
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The first step of an import (docpal.import_company, `docpal tenants
   import`): checks the document's shape (22023), creates the company
   (docpal.create_company: 22023 bad slug, 23505 slug taken), its members
   (matched to platform users by email; a missing user is created, with
   the exported id when that id is free) and, acting as the first owner (or
   else admin) among them, its definitions through the same functions a
   client calls: type lists, tables (docpal.create_table, so quotas apply;
   columns that target a table still to come, on a relation cycle, are
   added once it exists and then put back in their place), roles and their
   members, grants, groups, workflows, event rules (ids and order kept),
   ReBAC definitions, blueprints, reports and dashboards (their schedules
   set again; docpal_private.import_reports). The foreign keys of relation,
   file and relation_many columns are deferred to docpal_private.import_finish, so
   records may arrive in any order. p_data is the document without (or
   with, ignored here) its data parts; in history mode (p_data.history is
   the entries, or true in a streamed header) the audit entries of the
   import itself give way to the exported ones: the capture of inserts is
   off until import_finish. The import's state lives in
   a temporary table dropped at commit: every step runs in one transaction.
   Returns the new company's id. */
declare
    v_at timestamptz;
    v_id uuid;
    v_schema text;
    v_key text;
    v_item jsonb;
    v_user uuid;
    v_actor uuid;
    v_map jsonb := '{}';
    v_created text[] := '{}';
    v_deferred jsonb := '[]';
    v_spec jsonb;
    v_columns jsonb;
    v_late jsonb;
    v_slug text;
    v_history boolean;
    v_constraints jsonb;
    v_settings jsonb;
begin
    -- the import's state: a temporary table (import_begin) that plpgsql_check cannot see
    perform 'PRAGMA:table: docpal_import (company_id uuid, schema_name text, history boolean, users jsonb, constraints jsonb, history_in boolean, settings jsonb)';
    if p_data is null or pg_catalog.jsonb_typeof(p_data) <> 'object'
       or p_data->>'format' is distinct from 'docpal-export' then
        raise exception using errcode = '22023', message = 'not a docpal export: the document has no "format": "docpal-export"';
    end if;
    if p_data->'version' is distinct from '1'::jsonb then
        raise exception using errcode = '22023',
            message = pg_catalog.format('docpal export version %s is not supported (this docpal reads version 1)',
                                        coalesce(p_data->>'version', 'null'));
    end if;
    perform docpal_private.check_keys(p_data, 'not a docpal export',
        array['format', 'version', 'lines', 'company', 'type_lists', 'tables', 'records', 'files', 'members', 'roles',
              'grants', 'groups', 'workflows', 'workflow_log', 'event_rules', 'relations', 'blueprints', 'reports',
              'dashboards', 'history'],
        'unknown key %L in a docpal export');
    if pg_catalog.jsonb_typeof(p_data->'company') is distinct from 'object'
       or pg_catalog.jsonb_typeof(p_data->'company'->'name') is distinct from 'string' then
        raise exception using errcode = '22023', message = 'a docpal export needs "company": {slug, name, settings}';
    end if;
    foreach v_key in array array['type_lists', 'tables', 'files', 'members', 'roles', 'grants', 'groups', 'workflows',
                                 'workflow_log', 'event_rules', 'blueprints', 'reports', 'dashboards'] loop
        if p_data ? v_key and pg_catalog.jsonb_typeof(p_data->v_key) <> 'array'
           or exists (select from pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(p_data->v_key) = 'array'
                                                                       then p_data->v_key else '[]' end) e
                       where pg_catalog.jsonb_typeof(e) <> 'object') then
            raise exception using errcode = '22023', message = pg_catalog.format('%s must be an array of objects', v_key);
        end if;
    end loop;
    if p_data ? 'records' and pg_catalog.jsonb_typeof(p_data->'records') <> 'object'
       or p_data ? 'relations' and (pg_catalog.jsonb_typeof(p_data->'relations') <> 'object'
                                    or exists (select from pg_catalog.jsonb_object_keys(p_data->'relations') k
                                                where k not in ('definitions', 'tuples'))
                                    or pg_catalog.jsonb_typeof(coalesce(p_data->'relations'->'definitions', '[]')) <> 'array') then
        raise exception using errcode = '22023',
            message = 'records is an object of arrays by table, relations an object {definitions, tuples}';
    end if;
    if exists (select from pg_catalog.jsonb_array_elements(coalesce(p_data->'members', '[]')) m
                where pg_catalog.jsonb_typeof(m->'email') is distinct from 'string'
                   or pg_catalog.jsonb_typeof(m->'display_name') is distinct from 'string'
                   or pg_catalog.jsonb_typeof(m->'role') is distinct from 'string'
                   or m ? 'id' and (pg_catalog.jsonb_typeof(m->'id') <> 'string'
                                    or m->>'id' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')) then
        raise exception using errcode = '22023', message = 'a member is {email, display_name, role} (and its exported id)';
    end if;
    v_history := coalesce(pg_catalog.jsonb_typeof(p_data->'history') = 'array' or p_data->'history' = 'true'::jsonb, false);
    if p_data ? 'history' and not v_history and p_data->'history' <> 'false'::jsonb then
        raise exception using errcode = '22023', message = 'history must be an array of audit entries';
    end if;

    -- the company's events are off while the import writes (a restore sends no events, and
    -- capture without the outbox costs less); import_finish puts the exported settings back
    v_settings := coalesce(p_data->'company'->'settings', '{}');
    v_id := docpal.create_company(p_slug, p_data->'company'->>'name',
                                  case when pg_catalog.jsonb_typeof(v_settings) = 'object'
                                       then v_settings || '{"events": false}' else v_settings end);
    select c.schema_name into strict v_schema from docpal_private.companies c where c.id = v_id;

    -- members: the platform's user with that email, or a new one
    for v_item in select m from pg_catalog.jsonb_array_elements(coalesce(p_data->'members', '[]')) m loop
        select u.id into v_user from docpal_private.users u where pg_catalog.lower(u.email) = pg_catalog.lower(v_item->>'email');
        if v_user is null and v_item ? 'id'
           and not exists (select from docpal_private.users u where u.id = (v_item->>'id')::uuid) then
            -- the exported id, so that the user ids the records hold need no change
            if v_item->>'email' !~ '^[^@[:space:]]+@[^@[:space:]]+[.][^@[:space:]]+$'
               or pg_catalog.btrim(v_item->>'display_name') = '' then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('member %s: a user needs an email address and a display name', v_item->>'email');
            end if;
            insert into docpal_private.users (id, email, display_name)
            values ((v_item->>'id')::uuid, pg_catalog.btrim(v_item->>'email'), v_item->>'display_name')
            returning id into v_user;
        elsif v_user is null then
            v_user := docpal.create_user(v_item->>'email', v_item->>'display_name');
        end if;
        perform docpal.add_member(v_id, v_user, v_item->>'role');
        if v_item ? 'id' and (v_item->>'id')::uuid <> v_user then
            v_map := v_map || pg_catalog.jsonb_build_object(v_item->>'id', v_user);
        end if;
    end loop;
    select m.user_id into v_actor
      from docpal_private.memberships m join docpal_private.users u on u.id = m.user_id
     where m.company_id = v_id and m.role in ('owner', 'admin')
     order by m.role = 'owner' desc, pg_catalog.lower(u.email)
     limit 1;

    create temporary table if not exists pg_temp.docpal_import (
        company_id  uuid primary key,
        schema_name text not null,
        history     boolean not null,
        users       jsonb not null,
        constraints jsonb not null default '[]',
        history_in  boolean not null default false,  -- history mode: the exported entries began to come in
        settings    jsonb not null                   -- the company's settings, events off until import_finish
    ) on commit drop;
    insert into pg_temp.docpal_import (company_id, schema_name, history, users, settings)
    values (v_id, v_schema, v_history, v_map, v_settings);

    if exists (select from pg_catalog.jsonb_each(p_data) e
                where e.key in ('type_lists', 'tables', 'roles', 'grants', 'groups', 'workflows', 'event_rules',
                                'reports', 'dashboards')
                  and e.value <> '[]')
       or coalesce(p_data->'relations'->'definitions', '[]') <> '[]' then
        if v_actor is null then
            raise exception using errcode = '22023',
                message = 'the export has definitions but no owner or admin among its members to make them';
        end if;
        -- the definitions are made as that member, through docpal's own functions
        perform pg_catalog.set_config('docpal.context', docpal_private.context_token(v_id, v_actor, '', null), true);
    end if;

    for v_item in select t from pg_catalog.jsonb_array_elements(coalesce(p_data->'type_lists', '[]')) t loop
        perform docpal.create_type_list(v_item->>'slug', v_item->'values');
    end loop;

    -- tables in the document's order; a relation to a table still to come waits for it
    for v_spec in select t from pg_catalog.jsonb_array_elements(coalesce(p_data->'tables', '[]')) t loop
        v_slug := v_spec->>'slug';
        if pg_catalog.jsonb_typeof(v_spec->'columns') = 'array' then
            select coalesce(pg_catalog.jsonb_agg(c order by o) filter (where not x.late), '[]'),
                   coalesce(pg_catalog.jsonb_agg(c order by o) filter (where x.late), '[]')
              into v_columns, v_late
              from (select c, o, c->>'type' in ('relation', 'relation_many') and c->>'target' <> v_slug
                                 and (c->>'target') <> all (v_created) as late
                      from pg_catalog.jsonb_array_elements(v_spec->'columns') with ordinality x(c, o)) x;
            if v_late <> '[]' then
                -- formulas last: they may use a column that waits
                v_late := v_late || coalesce((select pg_catalog.jsonb_agg(c order by o)
                                                from pg_catalog.jsonb_array_elements(v_columns) with ordinality x(c, o)
                                               where c->>'type' = 'formula'), '[]');
                v_columns := coalesce((select pg_catalog.jsonb_agg(c order by o)
                                         from pg_catalog.jsonb_array_elements(v_columns) with ordinality x(c, o)
                                        where c->>'type' is distinct from 'formula'), '[]');
                v_deferred := v_deferred || pg_catalog.jsonb_build_object('slug', v_slug, 'columns', v_late,
                    'order', (select pg_catalog.jsonb_agg(c->>'name' order by o)
                                from pg_catalog.jsonb_array_elements(v_spec->'columns') with ordinality x(c, o)));
            end if;
            v_spec := v_spec || pg_catalog.jsonb_build_object('columns', v_columns);
        end if;
        perform docpal.create_table(v_spec);
        v_created := v_created || v_slug;
    end loop;
    for v_item in select d from pg_catalog.jsonb_array_elements(v_deferred) d loop
        perform docpal.add_column(v_item->>'slug', c) from pg_catalog.jsonb_array_elements(v_item->'columns') c;
        -- the columns back in the document's order
        v_spec := docpal_private.table_spec(v_schema, v_item->>'slug');
        v_spec := v_spec || pg_catalog.jsonb_build_object('columns',
            (select pg_catalog.jsonb_agg(c order by pg_catalog.array_position(
                        array(select pg_catalog.jsonb_array_elements_text(v_item->'order')), c->>'name'))
               from pg_catalog.jsonb_array_elements(v_spec->'columns') c));
        perform docpal_private.save_table_spec(v_schema, docpal_private.refresh_table(v_schema, v_spec));
    end loop;

    -- roles (parents first), their grants, groups; members named by email
    for v_item in select r from pg_catalog.jsonb_array_elements(coalesce(p_data->'roles', '[]')) r loop
        perform docpal.create_role(v_item->>'name', v_item->>'parent');
        perform docpal_private.import_user_refs(v_id, v_schema, '_role_members', 'role', v_item->>'name', v_item->'members');
    end loop;
    for v_item in select g from pg_catalog.jsonb_array_elements(coalesce(p_data->'grants', '[]')) g loop
        perform docpal.grant_permission(v_item->>'role', v_item->>'table', array[v_item->>'action'],
                                        pg_catalog.jsonb_strip_nulls(v_item - 'role' - 'table' - 'action'));
    end loop;
    for v_item in select g from pg_catalog.jsonb_array_elements(coalesce(p_data->'groups', '[]')) g loop
        perform docpal.create_group(v_item->>'name');
        perform docpal_private.import_user_refs(v_id, v_schema, '_group_members', 'group_name', v_item->>'name',
                                                v_item->'members');
        if pg_catalog.jsonb_typeof(coalesce(v_item->'roles', '[]')) <> 'array' then
            raise exception using errcode = '22023', message = 'a group''s roles are an array of role names';
        end if;
        perform docpal.assign_group_role(v_item->>'name', r)
           from pg_catalog.jsonb_array_elements_text(coalesce(v_item->'roles', '[]')) r;
    end loop;

    for v_item in select w from pg_catalog.jsonb_array_elements(coalesce(p_data->'workflows', '[]')) w loop
        perform docpal.define_workflow(v_item);
    end loop;

    -- event rules: their ids, and their order (the first match wins)
    for v_item, v_key in select r, o::text from pg_catalog.jsonb_array_elements(coalesce(p_data->'event_rules', '[]'))
                                               with ordinality x(r, o) loop
        if pg_catalog.jsonb_typeof(v_item->'id') is distinct from 'string'
           or v_item->>'id' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
            raise exception using errcode = '22023', message = 'an exported event rule has its id';
        end if;
        v_spec := docpal.create_event_rule(v_item - 'id' - 'created_at');
        -- the new time computed here: Citus refuses a timestamptz sum (STABLE) over a
        -- column in an UPDATE of a distributed company's table
        execute pg_catalog.format('select c.created_at from %I._catalog c where c.kind = $1 and c.slug = $2', v_schema)
           into v_at using 'event_rule', v_spec->>'id';
        execute pg_catalog.format(
            'update %I._catalog c set slug = $3, spec = c.spec || pg_catalog.jsonb_build_object(''id'', $3),
                    created_at = $4
              where c.kind = $1 and c.slug = $2', v_schema)
          using 'event_rule', v_spec->>'id', v_item->>'id', v_at + v_key::integer * interval '1 microsecond';
    end loop;
    for v_slug in select distinct r->>'table' from pg_catalog.jsonb_array_elements(coalesce(p_data->'event_rules', '[]')) r loop
        perform docpal_private.audit_triggers(v_schema, docpal_private.table_spec(v_schema, v_slug));
    end loop;

    for v_item in select d from pg_catalog.jsonb_array_elements(coalesce(p_data->'relations'->'definitions', '[]')) d loop
        perform docpal.define_relations(v_item->>'object_type', v_item->'rules');
    end loop;

    if coalesce(p_data->'blueprints', '[]') <> '[]' then
        if pg_catalog.to_regclass(pg_catalog.format('%I._blueprints', v_schema)) is null then
            raise exception using errcode = '22023', message = 'this docpal keeps no blueprints';
        end if;
        if exists (select from pg_catalog.jsonb_array_elements(p_data->'blueprints') b
                    where pg_catalog.jsonb_typeof(b->'name') is distinct from 'string'
                       or not docpal_private.whole_number(b->'version', 1)
                       or pg_catalog.jsonb_typeof(b->'spec') is distinct from 'object'
                       or pg_catalog.jsonb_typeof(b->'reports_saved') not in ('boolean', 'null')) then
            raise exception using errcode = '22023', message = 'a blueprint is {name, version, spec, reports_saved}';
        end if;
        execute pg_catalog.format(
            -- reports_saved: whether the version applied saved its reports (absent from exports made
            -- before blueprints saved reports: they did not, and a later upgrade saves them)
            'insert into %I._blueprints (name, version, spec, reports_saved)
             select b->>''name'', (b->>''version'')::integer, b->''spec'', coalesce((b->>''reports_saved'')::boolean, false)
               from pg_catalog.jsonb_array_elements($1) b',
            v_schema)
          using p_data->'blueprints';
    end if;

    -- reports and dashboards (absent from exports made before docpal had them: none)
    if coalesce(p_data->'reports', '[]') <> '[]' or coalesce(p_data->'dashboards', '[]') <> '[]' then
        perform docpal_private.import_reports(v_schema, p_data->'reports', p_data->'dashboards', v_map);
    end if;

    -- relation targets are checked at the end (docpal_private.import_finish): records come in any order
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(cl.relname, con.conname)), '[]')
      into v_constraints
      from pg_catalog.pg_constraint con
      join pg_catalog.pg_class cl on cl.oid = con.conrelid
      join pg_catalog.pg_class target on target.oid = con.confrelid
     where con.contype = 'f' and cl.relnamespace = v_schema::regnamespace
       and (target.relname !~ '^_' or target.relname = '_files');
    if docpal_private.company_distributed(v_schema) then
        -- Citus cannot ALTER CONSTRAINT a distributed table, nor defer a check on
        -- its worker to this function: the foreign keys are dropped and made
        -- again at the end (import_finish), which checks every row then
        select coalesce(pg_catalog.jsonb_agg(c || pg_catalog.to_jsonb(pg_catalog.pg_get_constraintdef(con.oid))), '[]')
          into v_constraints
          from pg_catalog.jsonb_array_elements(v_constraints) c
          join pg_catalog.pg_constraint con
            on con.conname = c->>1
           and con.conrelid = pg_catalog.format('%I.%I', v_schema, c->>0)::regclass;
        for v_item in select c from pg_catalog.jsonb_array_elements(v_constraints) c loop
            execute pg_catalog.format('alter table %I.%I drop constraint %I', v_schema, v_item->>0, v_item->>1);
        end loop;
    end if;
    for v_item in select c from pg_catalog.jsonb_array_elements(v_constraints) c where c->>2 is null loop
        execute pg_catalog.format('alter table %I.%I alter constraint %I deferrable initially deferred',
                                  v_schema, v_item->>0, v_item->>1);
    end loop;
    update pg_temp.docpal_import i set constraints = v_constraints where i.company_id = v_id;
    if v_history and not docpal_private.company_distributed(v_schema) then
        -- the exported entries are the history: the capture of the records' inserts would write
        -- only entries to take out again (events are off, and a company being imported has no
        -- quota to count: the quota is not exported), so it is off until import_finish (before
        -- any insert: a table with pending trigger events cannot be altered). A Citus
        -- distributed company keeps it (import_clear_audit takes the entries out)
        for v_slug in
            select tg.tgrelid::regclass::text
              from pg_catalog.pg_trigger tg join pg_catalog.pg_class cl on cl.oid = tg.tgrelid
             where cl.relnamespace = v_schema::regnamespace and tg.tgname = '_docpal_audit_insert'
               and cl.relname::text in (select pg_catalog.jsonb_array_elements(coalesce(p_data->'tables', '[]'))->>'slug')
        loop
            execute pg_catalog.format('alter table %s disable trigger _docpal_audit_insert', v_slug);
        end loop;
    end if;
    return v_id;
end
$$;
