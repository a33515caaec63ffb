-- grant: docpal_service, docpal_app
create or replace function docpal.audit_report(spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Reports over the company's audit log; spec {kind, from, to, user_id,
   table}: from inclusive, to exclusive, the rest narrow the entries.
   - changes: {report_type, period, total, entries} (oldest first);
   - user_activity: {report_type, period, users: [{user_id, user, changes,
     inserts, updates, deletes, rollbacks, restores, tables, first_at,
     last_at}]} (most active first);
   - compliance: {report_type, period, summary: {total_changes,
     users_active, tables_modified}, details: [{at, user, action, table,
     record_id, change_summary}]} (oldest first).
   "user" is the user's email, or the database role for plain SQL without a
   context. 22023 for a bad spec, 42P01 for an unknown table. */
declare
    v_ctx record;
    v_kind text;
    v_from timestamptz;
    v_to timestamptz;
    v_user uuid;
    v_table text;
    v_where text := 'e.at >= coalesce($1, ''-infinity'') and e.at < coalesce($2, ''infinity'')
                     and ($3::uuid is null or e.user_id = $3) and ($4::text is null or e."table" = $4)';
    v_report jsonb;
begin
    perform docpal_private.check_spec_size(audit_report.spec, 'audit_report');
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.check_keys(audit_report.spec, 'an audit report spec is a JSON object',
        array['kind', 'from', 'to', 'user_id', 'table'], 'an audit report spec takes only kind, from, to, user_id and table');
    v_kind := audit_report.spec->>'kind';
    if v_kind is null or v_kind not in ('changes', 'user_activity', 'compliance') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('unknown audit report kind %s (changes, user_activity or compliance)',
                                        coalesce(v_kind, 'null'));
    end if;
    begin
        v_from := audit_report.spec->>'from';
        v_to := audit_report.spec->>'to';
        v_user := audit_report.spec->>'user_id';
    exception when data_exception then
        raise exception using errcode = '22023',
            message = 'from and to must be timestamps and user_id a uuid', detail = sqlerrm;
    end;
    v_table := audit_report.spec->>'table';
    if v_table is not null then
        perform docpal_private.table_spec(v_ctx.schema_name, v_table);
    end if;
    if v_kind = 'changes' then
        execute pg_catalog.format(
            'select pg_catalog.jsonb_build_object(''total'', pg_catalog.count(*),
                        ''entries'', coalesce(pg_catalog.jsonb_agg(%s order by e.id), ''[]''))
               from %I._audit_log e where %s',
            docpal_private.audit_entry_sql(v_ctx.schema_name, 'e'), v_ctx.schema_name, v_where)
           into v_report using v_from, v_to, v_user, v_table;
    elsif v_kind = 'user_activity' then
        execute pg_catalog.format(
            'select pg_catalog.jsonb_build_object(''users'', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        ''user_id'', a.user_id, ''user'', a.who, ''changes'', a.changes, ''inserts'', a.inserts,
                        ''updates'', a.updates, ''deletes'', a.deletes, ''rollbacks'', a.rollbacks, ''restores'', a.restores,
                        ''tables'', pg_catalog.to_jsonb(a.tables), ''first_at'', a.first_at, ''last_at'', a.last_at)
                    order by a.changes desc, a.who), ''[]''))
               from (select e.user_id, coalesce(u.email, e.db_role) as who, pg_catalog.count(*) as changes,
                            pg_catalog.count(*) filter (where e.action = ''INSERT'') as inserts,
                            pg_catalog.count(*) filter (where e.action = ''UPDATE'') as updates,
                            pg_catalog.count(*) filter (where e.action = ''DELETE'') as deletes,
                            pg_catalog.count(*) filter (where e.action = ''ROLLBACK'') as rollbacks,
                            pg_catalog.count(*) filter (where e.action = ''RESTORE'') as restores,
                            pg_catalog.array_agg(distinct e."table") as tables,
                            pg_catalog.min(e.at) as first_at, pg_catalog.max(e.at) as last_at
                       from %I._audit_log e left join docpal_private.users u on u.id = e.user_id
                      where %s
                      group by e.user_id, coalesce(u.email, e.db_role)) a',
            v_ctx.schema_name, v_where)
           into v_report using v_from, v_to, v_user, v_table;
    else
        execute pg_catalog.format(
            'select pg_catalog.jsonb_build_object(
                        ''summary'', pg_catalog.jsonb_build_object(
                            ''total_changes'', pg_catalog.count(*),
                            ''users_active'', pg_catalog.count(distinct coalesce(e.user_id::text, ''role:'' || e.db_role)),
                            ''tables_modified'', pg_catalog.count(distinct e."table")),
                        ''details'', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                            ''at'', e.at, ''user'', coalesce(u.email, e.db_role), ''action'', e.action, ''table'', e."table",
                            ''record_id'', e.record_id, ''change_summary'', e.summary) order by e.id), ''[]''))
               from %I._audit_log e left join docpal_private.users u on u.id = e.user_id
              where %s',
            v_ctx.schema_name, v_where)
           into v_report using v_from, v_to, v_user, v_table;
    end if;
    return pg_catalog.jsonb_build_object('report_type', v_kind,
                                         'period', pg_catalog.jsonb_build_object('from', v_from, 'to', v_to))
           || v_report;
end
$$;
