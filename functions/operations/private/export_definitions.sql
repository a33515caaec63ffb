create or replace function docpal_private.export_definitions(p_company uuid)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set extra_float_digits = 1
    set intervalstyle = postgres
    set datestyle = 'ISO, MDY'
    set timezone = 'UTC'
as $$
/* The definitions of a company's export (docs/export-import.md): format,
   version, company {slug, name, settings}, type_lists, tables (in an order
   that can be created, docpal_private.export_table_order), members, roles
   (parents first, with their members by email), grants, groups, workflows,
   event_rules (in the order they were made), relations.definitions,
   blueprints, reports and dashboards (definitions with saved_by and
   saved_at; not their snapshots). What grows with the data (records, files, relation tuples,
   the workflow log, the audit history) comes in pages from
   docpal_private.export_page. Every list has a fixed order, so two exports
   of the same content are the same document. */
declare
    v_company record;
    v_schema text;
    v_perm boolean;
    v_result jsonb;
    v_part jsonb;
    v_rows jsonb;
    v_members jsonb;
begin
    select * into strict v_company from docpal_private.companies c where c.id = p_company;
    v_schema := v_company.schema_name;
    v_perm := pg_catalog.to_regclass(pg_catalog.format('%I._roles', v_schema)) is not null;
    v_result := pg_catalog.jsonb_build_object(
        'format', 'docpal-export',
        'version', 1,
        'company', pg_catalog.jsonb_build_object('slug', v_company.slug, 'name', v_company.name,
                                                 'settings', v_company.settings));
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''slug'', c.slug, ''values'', c.spec->''values'')
                                              order by c.slug), ''[]'')
           from %I._catalog c where c.kind = ''type_list''', v_schema)
       into v_part;
    v_result := v_result || pg_catalog.jsonb_build_object('type_lists', v_part);
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(docpal_private.public_spec(c.spec) order by o.n), ''[]'')
           from pg_catalog.unnest($1::text[]) with ordinality o(slug, n)
           join %I._catalog c on c.kind = ''table'' and c.slug = o.slug', v_schema)
       into v_part using docpal_private.export_table_order(v_schema);
    v_result := v_result || pg_catalog.jsonb_build_object('tables', v_part);
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', u.id, 'email', u.email,
                                                                       'display_name', u.display_name, 'role', m.role)
                                         order by pg_catalog.lower(u.email)), '[]')
      into v_part
      from docpal_private.memberships m join docpal_private.users u on u.id = m.user_id
     where m.company_id = p_company;
    v_result := v_result || pg_catalog.jsonb_build_object('members', v_part);
    if v_perm then
        -- The company's rows are read first, each table alone, and put together
        -- here: Citus refuses a recursive query on a distributed company's
        -- tables, and a join of them with docpal_private.users (coordinator).
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''name'', r.name, ''parent'', r.parent)), ''[]'')
               from %I._roles r', v_schema)
           into v_rows;
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''role'', m.role, ''user_id'', m.user_id)), ''[]'')
               from %I._role_members m', v_schema)
           into v_members;
        -- parents before their children (a parent exists before its children, so no cycles)
        with recursive roles as (
            select x.name, x.parent from pg_catalog.jsonb_to_recordset(v_rows) x (name text, parent text)
        ), tree (name, parent, depth) as (
            select r.name, r.parent, 1 from roles r
             where r.parent is null or not exists (select from roles p where p.name = r.parent)
             union all
            select r.name, r.parent, t.depth + 1 from roles r join tree t on r.parent = t.name
        )
        select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'name', t.name, 'parent', t.parent,
                   'members', coalesce((select pg_catalog.jsonb_agg(u.email order by pg_catalog.lower(u.email))
                                          from pg_catalog.jsonb_to_recordset(v_members) m (role text, user_id uuid)
                                          join docpal_private.users u on u.id = m.user_id
                                         where m.role = t.name), '[]'))
               order by t.depth, t.name), '[]')
          into v_part
          from tree t;
        v_result := v_result || pg_catalog.jsonb_build_object('roles', v_part);
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        ''role'', g.role, ''table'', g.table_slug, ''action'', g.action, ''columns'', g.columns,
                        ''row_filter'', g.row_filter) order by g.role, g.table_slug, g.action), ''[]'')
               from %I._grants g', v_schema)
           into v_part;
        v_result := v_result || pg_catalog.jsonb_build_object('grants', v_part);
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        ''name'', g.name,
                        ''roles'', coalesce((select pg_catalog.jsonb_agg(r.role order by r.role)
                                               from %1$I._group_roles r where r.group_name = g.name), ''[]''))
                    order by g.name), ''[]'')
               from %1$I._groups g', v_schema)
           into v_rows;
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''group_name'', m.group_name, ''user_id'', m.user_id)), ''[]'')
               from %I._group_members m', v_schema)
           into v_members;
        select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'name', g->>'name',
                   'members', coalesce((select pg_catalog.jsonb_agg(u.email order by pg_catalog.lower(u.email))
                                          from pg_catalog.jsonb_to_recordset(v_members) m (group_name text, user_id uuid)
                                          join docpal_private.users u on u.id = m.user_id
                                         where m.group_name = g->>'name'), '[]'),
                   'roles', g->'roles')
               order by o), '[]')
          into v_part
          from pg_catalog.jsonb_array_elements(v_rows) with ordinality x (g, o);
        v_result := v_result || pg_catalog.jsonb_build_object('groups', v_part);
    else
        v_result := v_result || '{"roles": [], "grants": [], "groups": []}';
    end if;
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(c.spec order by c.slug), ''[]'') from %I._catalog c where c.kind = ''workflow''',
        v_schema)
       into v_part;
    v_result := v_result || pg_catalog.jsonb_build_object('workflows', v_part);
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(c.spec order by c.created_at, c.slug), ''[]'')
           from %I._catalog c where c.kind = ''event_rule''', v_schema)
       into v_part;
    v_result := v_result || pg_catalog.jsonb_build_object('event_rules', v_part);
    if pg_catalog.to_regclass(pg_catalog.format('%I._relation_rules', v_schema)) is not null then
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''object_type'', r.object_type, ''rules'', r.rules)
                                                  order by r.object_type), ''[]'')
               from %I._relation_rules r', v_schema)
           into v_part;
    else
        v_part := '[]';
    end if;
    v_result := v_result || pg_catalog.jsonb_build_object('relations', pg_catalog.jsonb_build_object('definitions', v_part));
    if pg_catalog.to_regclass(pg_catalog.format('%I._blueprints', v_schema)) is not null then
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''name'', b.name, ''version'', b.version,
                                                                               ''spec'', b.spec, ''reports_saved'', b.reports_saved)
                                                  order by b.name), ''[]'')
               from %I._blueprints b', v_schema)
           into v_part;
    else
        v_part := '[]';
    end if;
    v_result := v_result || pg_catalog.jsonb_build_object('blueprints', v_part);
    -- reports and dashboards: their definitions (a snapshot is data the import's runs make again)
    if pg_catalog.to_regclass(pg_catalog.format('%I._reports', v_schema)) is not null then
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        ''slug'', r.slug, ''name'', r.name, ''description'', r.description, ''table'', r.table_slug,
                        ''kind'', r.kind, ''spec'', r.spec, ''params'', r.params, ''schedule'', r.schedule,
                        ''saved_by'', r.saved_by, ''saved_at'', r.saved_at) order by r.slug), ''[]'')
               from %I._reports r', v_schema)
           into v_part;
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        ''slug'', d.slug, ''name'', d.name, ''widgets'', d.widgets, ''saved_by'', d.saved_by,
                        ''saved_at'', d.saved_at) order by d.slug), ''[]'')
               from %I._dashboards d', v_schema)
           into v_rows;
    else
        v_part := '[]';
        v_rows := '[]';
    end if;
    return v_result || pg_catalog.jsonb_build_object('reports', v_part, 'dashboards', v_rows);
end
$$;
