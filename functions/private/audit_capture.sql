create or replace function docpal_private.audit_capture()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* AFTER INSERT / UPDATE / DELETE (per statement, with transition tables
   _docpal_new/_docpal_old) and BEFORE TRUNCATE on every docpal table: one
   set-based INSERT into the company's _audit_log per statement, in the
   writer's transaction. TG_ARGV[0] is the table slug (never TG_TABLE_NAME,
   which names the shard on a Citus worker); the log is in the table's own
   schema. Updates that changed no data column (no-ops; only version or
   updated_* touched) write nothing. docpal.audit_action (set locally by
   rollback_record / restore_record / rollback_table) labels an UPDATE as
   ROLLBACK and an INSERT as RESTORE. */
declare
    v_slug text := tg_argv[0];
    v_user uuid := docpal_private.context_user();
    v_label text := pg_catalog.current_setting('docpal.audit_action', true);
    -- stored columns that are bookkeeping, not data: never "changed"
    v_system text[] := array['id', 'version', 'created_at', 'created_by', 'updated_at', 'updated_by'];
    -- changed columns are listed in table order
    v_order text[];
begin
    v_order := array(select a.attname::text from pg_catalog.pg_attribute a
                      where a.attrelid = tg_relid and a.attnum > 0 and not a.attisdropped order by a.attnum);
    if tg_op = 'INSERT' then
        execute pg_catalog.format(
            'insert into %I._audit_log (user_id, "table", record_id, action, version, new, changed, summary)
             select $1, $2, n.id, $3, n.version, n.j,
                    (select pg_catalog.array_agg(e.key order by pg_catalog.array_position($6, e.key))
                       from pg_catalog.jsonb_each(n.j) e where e.key <> all ($4)),
                    $5
               from (select _n.id, _n.version, pg_catalog.to_jsonb(_n) as j from _docpal_new _n) n',
            tg_table_schema)
          using v_user, v_slug, case when v_label = 'RESTORE' then 'RESTORE' else 'INSERT' end, v_system,
                case when v_label = 'RESTORE' then 'restored' else 'created' end, v_order;
    elsif tg_op = 'UPDATE' then
        execute pg_catalog.format(
            'insert into %I._audit_log (user_id, "table", record_id, action, version, old, new, changed, summary)
             select $1, $2, n.id, $3, n.version, o.j, n.j, d.changed, d.summary
               from (select _o.id, pg_catalog.to_jsonb(_o) as j from _docpal_old _o) o
               join (select _n.id, _n.version, pg_catalog.to_jsonb(_n) as j from _docpal_new _n) n on n.id = o.id,
                    lateral (select pg_catalog.array_agg(e.key order by pg_catalog.array_position($5, e.key)) as changed,
                                    pg_catalog.string_agg(e.key || '': '' || docpal_private.audit_value(o.j -> e.key)
                                                          || '' → '' || docpal_private.audit_value(e.value), ''; ''
                                                          order by pg_catalog.array_position($5, e.key)) as summary
                               from pg_catalog.jsonb_each(n.j) e
                              where e.key <> all ($4) and e.value is distinct from o.j -> e.key) d
              where d.changed is not null',
            tg_table_schema)
          using v_user, v_slug, case when v_label = 'ROLLBACK' then 'ROLLBACK' else 'UPDATE' end, v_system, v_order;
    else
        -- DELETE (rows in _docpal_old) or TRUNCATE (BEFORE: every row still in the table)
        execute pg_catalog.format(
            'insert into %I._audit_log (user_id, "table", record_id, action, version, old, changed, summary)
             select $1, $2, o.id, ''DELETE'', o.version, o.j,
                    (select pg_catalog.array_agg(e.key order by pg_catalog.array_position($4, e.key))
                       from pg_catalog.jsonb_each(o.j) e where e.key <> all ($3)),
                    ''deleted''
               from (select _o.id, _o.version, pg_catalog.to_jsonb(_o) as j from %s _o) o',
            tg_table_schema,
            case when tg_op = 'DELETE' then '_docpal_old' else pg_catalog.format('%I.%I', tg_table_schema, v_slug) end)
          using v_user, v_slug, v_system, v_order;
    end if;
    return null;
end
$$;
