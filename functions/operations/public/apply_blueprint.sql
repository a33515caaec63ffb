-- grant: docpal_service, docpal_app
create or replace function docpal.apply_blueprint(blueprint jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Applies a blueprint (contract section 8; docs/blueprints.md) to the
   company in context, all or nothing, through the public functions
   (create_type_list, create_role, create_table, add_column, alter_column,
   update_type_list, grant_permission, create_records, define_workflow,
   create_event_rule), so their rules, quotas, schema history and audit
   hold. Owners and admins only (42501); 54000 over 256 KB; 22023 for a
   malformed blueprint (docpal_private.blueprint_check) and whatever the
   public functions raise for its parts.

   First apply: creates everything, then the records. A higher version than
   the company has: adds only what the new version has and neither the
   company nor the previous version had: tables, columns, select options and
   type list values, roles, grant actions, workflows, event rules. What the
   previous version had and the company no longer has (a column a user
   dropped or renamed, an option a user removed, a revoked grant action, a
   dropped table with its grants, workflows, rules and the relations to it)
   is not brought back; nothing existing is changed (labels, names, rules,
   grants); nothing is removed; records only on the first apply. The same or
   a lower version changes nothing. Tables whose slug the company already
   has (its own, or another blueprint's) are taken as they are and only get
   the columns they miss.

   Reports (contract section 11) are saved last, by docpal.save_report as
   the caller (who becomes their saver: scheduled runs run as them), the
   same way: a slug the company has is left as it is, and one the previous
   version saved and the company no longer has stays dropped. A previous
   version applied before docpal saved reports (_blueprints.reports_saved
   false, tenant step 0012) saved none of its reports: the company gets
   those it lacks.

   Returns {name, version (the company's version now), previous_version,
   created: {type_lists, roles, tables, grants, records, workflows,
   event_rules, reports}, added: {columns, options, type_list_values}}. */
declare
    v_ctx record;
    v_bp jsonb;
    v_name text;
    v_version integer;
    v_prev_version integer;
    v_prev jsonb;
    v_prev_saved boolean;  -- the previous apply saved its reports
    v_first boolean;
    v_created jsonb := '{"type_lists": [], "roles": [], "tables": [], "grants": [], "records": {},
                         "workflows": [], "event_rules": [], "reports": []}';
    v_added jsonb := '{"columns": [], "options": [], "type_list_values": []}';
    v_item jsonb;
    v_prev_item jsonb;
    v_slug text;
    v_role text;
    v_exists boolean;
    v_company_spec jsonb;
    v_column jsonb;
    v_company_column jsonb;
    v_now_cols jsonb;
    v_later jsonb;
    v_deferred jsonb := '[]';  -- [{table, column}] added once every table exists
    v_gone text[] := '{}';  -- tables of the previous version the company dropped
    v_values jsonb;
    v_new jsonb;
    v_actions text[];
    v_record_tables text[];
    v_order text[] := '{}';
    v_done text[] := '{}';
    v_forward text[];
    v_rows jsonb;
    v_result jsonb;
    v_pending jsonb := '[]';  -- [{table, id, patch}]: relations to records inserted later
begin
    perform docpal_private.check_spec_size(apply_blueprint.blueprint, 'apply_blueprint');
    select * into v_ctx from docpal_private.require_admin();
    v_bp := docpal_private.blueprint_check(apply_blueprint.blueprint);
    v_name := v_bp->>'name';
    v_version := (v_bp->>'version')::integer;
    -- one apply at a time per company: what exists is read, then added to
    perform docpal_private.company_lock(v_ctx.schema_name, 'apply_blueprint');
    execute pg_catalog.format('select b.version, b.spec, b.reports_saved from %I._blueprints b where b.name = $1',
                              v_ctx.schema_name)
       into v_prev_version, v_prev, v_prev_saved using v_name;
    if v_prev_version >= v_version then
        return pg_catalog.jsonb_build_object('name', v_name, 'version', v_prev_version, 'previous_version', v_prev_version,
                                             'created', v_created, 'added', v_added);
    end if;
    v_first := v_prev is null;
    v_prev := coalesce(v_prev, '{}');

    -- type lists: new ones, then values new in this version on existing ones
    for v_item in select e from pg_catalog.jsonb_array_elements(v_bp->'type_lists') e loop
        v_slug := v_item->>'slug';
        perform docpal_private.check_keys(v_item, 'a type list is an object', array['slug', 'values'],
                                          'unknown type list key %L', 'A blueprint type list is {slug, values}.');
        execute pg_catalog.format('select c.spec->''values'' from %I._catalog c where c.kind = $1 and c.slug = $2', v_ctx.schema_name)
           into v_values using 'type_list', v_slug;
        if v_values is null then
            if exists (select from pg_catalog.jsonb_array_elements(coalesce(v_prev->'type_lists', '[]')) p where p->>'slug' = v_slug) then
                continue;  -- the previous version had it: the company let it go
            end if;
            perform docpal.create_type_list(v_slug, v_item->'values');
            v_created := pg_catalog.jsonb_set(v_created, '{type_lists}', (v_created->'type_lists') || pg_catalog.to_jsonb(v_slug));
            continue;
        end if;
        select p into v_prev_item from pg_catalog.jsonb_array_elements(coalesce(v_prev->'type_lists', '[]')) p where p->>'slug' = v_slug;
        -- values this version has that the previous one did not and the list lacks
        select pg_catalog.jsonb_agg(n.v order by n.o) into v_new
          from pg_catalog.jsonb_array_elements(docpal_private.normalize_type_list(v_slug, v_item->'values')->'values')
               with ordinality n(v, o)
         where not exists (select from pg_catalog.jsonb_array_elements(v_values) c where c->>'value' = n.v->>'value')
           and not exists (select from pg_catalog.jsonb_array_elements(case when v_prev_item is null then '[]'
                               else docpal_private.normalize_type_list(v_slug, v_prev_item->'values')->'values' end) p
                            where p->>'value' = n.v->>'value');
        if v_new is not null then
            perform docpal.update_type_list(v_slug, v_values || v_new);
            v_added := pg_catalog.jsonb_set(v_added, '{type_list_values}', (v_added->'type_list_values')
                       || pg_catalog.jsonb_build_object('type_list', v_slug, 'values', pg_catalog.jsonb_path_query_array(v_new, '$[*].value')));
        end if;
    end loop;

    -- roles (before the grants and workflows that name them)
    for v_item in select e from pg_catalog.jsonb_array_elements(v_bp->'roles') e loop
        v_role := coalesce(v_item->>'name', v_item #>> '{}');
        perform docpal_private.permission_tables(v_ctx.schema_name);
        execute pg_catalog.format('select exists (select from %I._roles r where r.name = $1)', v_ctx.schema_name)
           into v_exists using v_role;
        continue when v_exists;
        perform docpal.create_role(v_role, v_item->>'parent');
        v_created := pg_catalog.jsonb_set(v_created, '{roles}', (v_created->'roles') || pg_catalog.to_jsonb(v_role));
    end loop;

    -- tables: new ones without the relations to tables not made yet (those
    -- and any formula of such a table wait), existing ones keep theirs and
    -- get the columns they miss once every table exists
    for v_item in select e from pg_catalog.jsonb_array_elements(v_bp->'tables') e loop
        v_slug := v_item->>'slug';
        select p into v_prev_item from pg_catalog.jsonb_array_elements(coalesce(v_prev->'tables', '[]')) p where p->>'slug' = v_slug;
        execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = $1 and c.slug = $2', v_ctx.schema_name)
           into v_company_spec using 'table', v_slug;
        if v_company_spec is null then
            if v_prev_item is not null then
                v_gone := v_gone || v_slug;  -- the previous version made it: the company dropped it
                continue;
            end if;
            if pg_catalog.jsonb_typeof(v_item->'columns') is distinct from 'array' then
                perform docpal.create_table(v_item);  -- no columns, or its own 22023
                v_created := pg_catalog.jsonb_set(v_created, '{tables}', (v_created->'tables') || pg_catalog.to_jsonb(v_slug));
                continue;
            end if;
            v_now_cols := '[]';
            v_later := '[]';
            for v_column in select c from pg_catalog.jsonb_array_elements(v_item->'columns') c loop
                if v_column->>'type' in ('relation', 'relation_many') and v_column->>'target' is distinct from v_slug
                   and pg_catalog.jsonb_typeof(v_column->'target') = 'string'
                   and pg_catalog.to_regclass(pg_catalog.format('%I.%I', v_ctx.schema_name, v_column->>'target')) is null then
                    v_later := v_later || v_column;
                else
                    v_now_cols := v_now_cols || v_column;
                end if;
            end loop;
            if v_later <> '[]' then
                -- a formula may use a relation column: it waits with them
                v_later := v_later || coalesce((select pg_catalog.jsonb_agg(c) from pg_catalog.jsonb_array_elements(v_now_cols) c
                                                 where c->>'type' = 'formula'), '[]');
                v_now_cols := coalesce((select pg_catalog.jsonb_agg(c) from pg_catalog.jsonb_array_elements(v_now_cols) c
                                         where c->>'type' is distinct from 'formula'), '[]');
                v_deferred := v_deferred || (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('table', v_slug, 'column', c, 'new', true))
                                               from pg_catalog.jsonb_array_elements(v_later) c);
            end if;
            perform docpal.create_table(pg_catalog.jsonb_set(v_item, '{columns}', v_now_cols));
            v_created := pg_catalog.jsonb_set(v_created, '{tables}', (v_created->'tables') || pg_catalog.to_jsonb(v_slug));
            continue;
        end if;
        -- an existing table: its missing columns (unless the previous version had them), new options of its select columns
        for v_column in select c from pg_catalog.jsonb_array_elements(coalesce(v_item->'columns', '[]')) c loop
            select c into v_company_column from pg_catalog.jsonb_array_elements(v_company_spec->'columns') c
             where c->>'name' = v_column->>'name';
            if v_company_column is null then
                continue when exists (select from pg_catalog.jsonb_array_elements(coalesce(v_prev_item->'columns', '[]')) p
                                       where p->>'name' = v_column->>'name');
                v_deferred := v_deferred || pg_catalog.jsonb_build_object('table', v_slug, 'column', v_column, 'new', false);
                continue;
            end if;
            continue when v_company_column->>'type' not in ('select', 'multi_select') or not v_company_column ? 'options'
                          or pg_catalog.jsonb_typeof(v_column->'options') is distinct from 'array';
            select pg_catalog.jsonb_agg(n.v order by n.o) into v_new
              from pg_catalog.jsonb_array_elements(v_column->'options') with ordinality n(v, o)
             where not (v_company_column->'options') @> pg_catalog.jsonb_build_array(n.v)
               and not coalesce((select p->'options' from pg_catalog.jsonb_array_elements(coalesce(v_prev_item->'columns', '[]')) p
                                  where p->>'name' = v_column->>'name'), '[]') @> pg_catalog.jsonb_build_array(n.v);
            if v_new is not null then
                perform docpal.alter_column(v_slug, v_column->>'name',
                                            pg_catalog.jsonb_build_object('options', (v_company_column->'options') || v_new));
                v_added := pg_catalog.jsonb_set(v_added, '{options}', (v_added->'options')
                           || pg_catalog.jsonb_build_object('table', v_slug, 'column', v_column->>'name', 'values', v_new));
            end if;
        end loop;
    end loop;
    -- the columns that waited: relations first (formulas may use them), in the blueprint's order
    for v_item in select d from pg_catalog.jsonb_array_elements(v_deferred) with ordinality x(d, o)
                   where coalesce(d->'column'->>'target', '') <> all (v_gone)
                   order by (d->'column'->>'type' = 'formula'), o loop
        perform docpal.add_column(v_item->>'table', v_item->'column');
        if not (v_item->>'new')::boolean then
            v_added := pg_catalog.jsonb_set(v_added, '{columns}', (v_added->'columns')
                       || pg_catalog.jsonb_build_object('table', v_item->>'table', 'column', v_item->'column'->>'name'));
        end if;
    end loop;

    -- grants: the actions this version gives that the previous one did not and the role does not hold
    -- (grants, workflows and rules of a table the company dropped are not made)
    for v_item in select e from pg_catalog.jsonb_array_elements(v_bp->'grants') e where e->>'table' <> all (v_gone) loop
        perform docpal_private.permission_tables(v_ctx.schema_name);
        execute pg_catalog.format('select pg_catalog.array_agg(g.action) from %I._grants g where g.role = $1 and g.table_slug = $2',
                                  v_ctx.schema_name)
           into v_actions using v_item->>'role', v_item->>'table';
        v_actions := array(select a from pg_catalog.jsonb_array_elements_text(v_item->'actions') a
                            where a <> all (coalesce(v_actions, '{}'))
                              and not exists (select from pg_catalog.jsonb_array_elements(coalesce(v_prev->'grants', '[]')) p
                                               where p->>'role' = v_item->>'role' and p->>'table' = v_item->>'table'
                                                 and p->'actions' @> pg_catalog.jsonb_build_array(a)));
        continue when pg_catalog.cardinality(v_actions) = 0;
        perform docpal.grant_permission(v_item->>'role', v_item->>'table', v_actions,
                                        pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                                            'columns', v_item->'columns', 'row_filter', v_item->'row_filter')));
        v_created := pg_catalog.jsonb_set(v_created, '{grants}', (v_created->'grants')
                     || pg_catalog.jsonb_build_object('role', v_item->>'role', 'table', v_item->>'table', 'actions', pg_catalog.to_jsonb(v_actions)));
    end loop;

    -- records, on the first apply only, before the workflows (sample records
    -- may stand in any state); a table's rows go in after the tables they
    -- point to, and relations to rows inserted later (cycles, and rows of the
    -- same table) are set after, by update_record
    if v_first then
        v_record_tables := array(select k from pg_catalog.jsonb_object_keys(v_bp->'records') k order by k);
        while pg_catalog.cardinality(v_order) < pg_catalog.cardinality(v_record_tables) loop
            -- next: a table pointing at no table still to come, else (a cycle) one
            -- whose such relations are all optional, else the first
            select x.t into v_slug
              from pg_catalog.unnest(v_record_tables) with ordinality x(t, o)
              left join lateral (
                  select pg_catalog.count(*) as n, pg_catalog.count(*) filter (where (c->>'required')::boolean) as required
                    from pg_catalog.jsonb_array_elements(docpal_private.table_spec(v_ctx.schema_name, x.t)->'columns') c
                   where c->>'type' in ('relation', 'relation_many') and c->>'target' <> x.t
                     and c->>'target' = any (v_record_tables) and c->>'target' <> all (v_order)) d on true
             where x.t <> all (v_order)
             order by d.required > 0, d.n > 0, x.o
             limit 1;
            v_order := v_order || v_slug;
        end loop;
        foreach v_slug in array v_order loop
            v_rows := v_bp->'records'->v_slug;
            v_forward := array(select c->>'name'
                                 from pg_catalog.jsonb_array_elements(docpal_private.table_spec(v_ctx.schema_name, v_slug)->'columns') c
                                where c->>'type' in ('relation', 'relation_many')
                                  and c->>'target' = any (v_record_tables) and c->>'target' <> all (v_done));
            if pg_catalog.cardinality(v_forward) > 0 then
                -- each row gets an id now, so the later update can find it
                select pg_catalog.jsonb_agg(case when r ? 'id' then r
                                                 else r || pg_catalog.jsonb_build_object('id', pg_catalog.gen_random_uuid()) end order by o)
                  into v_rows from pg_catalog.jsonb_array_elements(v_rows) with ordinality x(r, o);
                v_pending := v_pending || coalesce((
                    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('table', v_slug, 'id', r->'id', 'patch',
                               (select pg_catalog.jsonb_object_agg(e.key, e.value) from pg_catalog.jsonb_each(r) e
                                 where e.key = any (v_forward))))
                      from pg_catalog.jsonb_array_elements(v_rows) r
                     where pg_catalog.jsonb_typeof(r) = 'object' and r ?| v_forward), '[]');
                select pg_catalog.jsonb_agg(case when pg_catalog.jsonb_typeof(r) = 'object' then r - v_forward else r end order by o)
                  into v_rows from pg_catalog.jsonb_array_elements(v_rows) with ordinality x(r, o);
            end if;
            v_result := docpal.create_records(v_slug, v_rows);
            v_created := pg_catalog.jsonb_set(v_created, array['records', v_slug],
                                              pg_catalog.to_jsonb(pg_catalog.jsonb_array_length(v_result)));
            v_done := v_done || v_slug;
        end loop;
        for v_item in select e from pg_catalog.jsonb_array_elements(v_pending) e loop
            perform docpal.update_record(v_item->>'table', (v_item->>'id')::uuid, v_item->'patch');
        end loop;
    end if;

    -- workflows: new names only (an existing one is the company's, as it is now)
    for v_item in select e from pg_catalog.jsonb_array_elements(v_bp->'workflows') e
                   where coalesce(e->>'table', '') <> all (v_gone) loop
        execute pg_catalog.format('select exists (select from %I._catalog c where c.kind = $1 and c.slug = $2)', v_ctx.schema_name)
           into v_exists using 'workflow', v_item->>'name';
        continue when v_exists
                   or exists (select from pg_catalog.jsonb_array_elements(coalesce(v_prev->'workflows', '[]')) p
                               where p->>'name' = v_item->>'name');
        perform docpal.define_workflow(v_item);
        v_created := pg_catalog.jsonb_set(v_created, '{workflows}', (v_created->'workflows') || (v_item->'name'));
    end loop;

    -- event rules: a rule the previous version had, or that the company has
    -- already (same table, actions, when, workflow and task queue), is not made again
    for v_item in select e from pg_catalog.jsonb_array_elements(v_bp->'event_rules') e where e->>'table' <> all (v_gone) loop
        continue when coalesce(v_prev->'event_rules', '[]') @> pg_catalog.jsonb_build_array(v_item);
        execute pg_catalog.format(
            'select exists (select from %I._catalog c
                             where c.kind = $1 and c.spec->''table'' = $2->''table'' and c.spec->''workflow'' = $2->''workflow''
                               and c.spec->''when'' = coalesce($2->''when'', ''null'')
                               and c.spec->''task_queue'' = coalesce($2->''task_queue'', ''"docpal"'')
                               and c.spec->''actions'' @> coalesce((select pg_catalog.jsonb_agg(pg_catalog.upper(a))
                                                                     from pg_catalog.jsonb_array_elements_text($2->''actions'') a),
                                                                   ''["INSERT", "UPDATE", "DELETE", "ROLLBACK", "RESTORE"]''))',
            v_ctx.schema_name)
           into v_exists using 'event_rule', v_item;
        continue when v_exists;
        v_result := docpal.create_event_rule(v_item);
        v_created := pg_catalog.jsonb_set(v_created, '{event_rules}', (v_created->'event_rules')
                     || pg_catalog.jsonb_build_object('id', v_result->'id', 'table', v_result->'table', 'workflow', v_result->'workflow'));
    end loop;

    -- reports: new slugs only, as for workflows; the previous version's
    -- reports count as had only when that apply saved them (reports_saved),
    -- and none on a table the company dropped
    for v_item in select e from pg_catalog.jsonb_array_elements(v_bp->'reports') e where e->>'table' <> all (v_gone) loop
        continue when v_prev_saved
                  and exists (select from pg_catalog.jsonb_array_elements(coalesce(v_prev->'reports', '[]')) p
                               where p->>'slug' = v_item->>'slug');
        if pg_catalog.to_regclass(pg_catalog.format('%I._reports', v_ctx.schema_name)) is not null then
            execute pg_catalog.format('select exists (select from %I._reports r where r.slug = $1)', v_ctx.schema_name)
               into v_exists using v_item->>'slug';
            continue when v_exists;
        end if;
        perform docpal.save_report(v_item);
        v_created := pg_catalog.jsonb_set(v_created, '{reports}', (v_created->'reports') || (v_item->'slug'));
    end loop;

    execute pg_catalog.format(
        'insert into %I._blueprints as b (name, version, applied_at, spec, reports_saved) values ($1, $2, $3, $4, true)
         on conflict (name) do update set version = excluded.version, applied_at = excluded.applied_at, spec = excluded.spec,
                                          reports_saved = true',
        v_ctx.schema_name)
      using v_name, v_version, pg_catalog.now(), apply_blueprint.blueprint;
    return pg_catalog.jsonb_build_object('name', v_name, 'version', v_version, 'previous_version', v_prev_version,
                                         'created', v_created, 'added', v_added);
end
$$;
