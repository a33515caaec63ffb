create or replace function docpal_private.audit_triggers(p_schema text, p_spec jsonb)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Creates (or re-creates, after every column change) the audit capture
   triggers of a docpal table and of its relation_many junction tables.
   Transition tables allow one event per trigger, hence one AFTER trigger per
   event; TRUNCATE is logged by a BEFORE trigger while the rows are still
   there. Each table trigger carries the slug (Citus: TG_TABLE_NAME names the
   shard) and its capture statement, generated here from the table's columns,
   so the per-row work is plain column comparisons in C:
   - INSERT / DELETE / TRUNCATE: the whole row;
   - UPDATE: only rows whose data changed (a row comparison), old and new
     holding the changed columns plus version, updated_at and updated_by,
     changed and summary in table order. */
declare
    v_table text := p_spec->>'slug';
    v_system text[] := array['id', 'version', 'created_at', 'created_by', 'updated_at', 'updated_by'];
    v_data text[];
    v_log text := pg_catalog.format('%I._audit_log', p_schema);
    v_entry text := 'insert into ' || v_log || ' (user_id, "table", record_id, action, version, old, new, changed, summary) ';
    v_changed text;
    v_unchanged text;
    v_summary text;
    v_insert text;
    v_update text;
    v_delete text;
    v_truncate text;
    v_junction record;
begin
    v_data := array(select a.attname::text from pg_catalog.pg_attribute a
                     where a.attrelid = pg_catalog.format('%I.%I', p_schema, v_table)::regclass
                       and a.attnum > 0 and not a.attisdropped and a.attname::text <> all (v_system)
                     order by a.attnum);
    select pg_catalog.string_agg(pg_catalog.format('case when _o.%1$I is distinct from _n.%1$I then %1$L end', c), ', '),
           pg_catalog.string_agg(pg_catalog.format('case when _o.%1$I is not distinct from _n.%1$I then %1$L end', c), ', '),
           pg_catalog.string_agg(pg_catalog.format(
               'case when _o.%1$I is distinct from _n.%1$I then %2$L || %3$s || '' → '' || %4$s end', c, c || ': ',
               pg_catalog.replace(docpal_private.audit_text_sql(), '$v', pg_catalog.format('pg_catalog.to_jsonb(_o.%I)', c)),
               pg_catalog.replace(docpal_private.audit_text_sql(), '$v', pg_catalog.format('pg_catalog.to_jsonb(_n.%I)', c))), ', ')
      into v_changed, v_unchanged, v_summary
      from pg_catalog.unnest(v_data) c;
    v_insert := v_entry || pg_catalog.format(
        'select $1, $2, _n.id, $3, _n.version, null, pg_catalog.to_jsonb(_n), %L::text[], $4 from _docpal_new _n', v_data);
    v_delete := v_entry || pg_catalog.format(
        'select $1, $2, _o.id, $3, _o.version, pg_catalog.to_jsonb(_o), null, %L::text[], $4 from _docpal_old _o', v_data);
    v_truncate := pg_catalog.replace(v_delete, '_docpal_old _o', pg_catalog.format('%I.%I _o', p_schema, v_table));
    v_update := v_entry || pg_catalog.format(
        'select $1, $2, _d._id, $3, _d._version, _d._old - _d._unchanged, _d._new - _d._unchanged, _d._changed, _d._summary
           from (select _n.id as _id, _n.version as _version, pg_catalog.to_jsonb(_o) as _old, pg_catalog.to_jsonb(_n) as _new,
                        pg_catalog.array_remove(array[%s]::text[], null) as _changed,
                        array[''id'', ''created_at'', ''created_by'']
                            || pg_catalog.array_remove(array[%s]::text[], null) as _unchanged,
                        pg_catalog.concat_ws(''; '', %s) as _summary
                   from _docpal_old _o join _docpal_new _n on _n.id = _o.id
                  where (%s) is distinct from (%s)) _d',
        coalesce(v_changed, ''), coalesce(v_unchanged, ''), coalesce(v_summary, 'null'),
        coalesce((select pg_catalog.string_agg(pg_catalog.format('_o.%I', c), ', ') from pg_catalog.unnest(v_data) c), 'null'),
        coalesce((select pg_catalog.string_agg(pg_catalog.format('_n.%I', c), ', ') from pg_catalog.unnest(v_data) c), 'null'));
    execute pg_catalog.format(
        'create or replace trigger _docpal_audit_insert after insert on %1$I.%2$I
             referencing new table as _docpal_new
             for each statement execute function docpal_private.audit_capture(%2$L, %3$L);
         create or replace trigger _docpal_audit_update after update on %1$I.%2$I
             referencing old table as _docpal_old new table as _docpal_new
             for each statement execute function docpal_private.audit_capture(%2$L, %4$L);
         create or replace trigger _docpal_audit_delete after delete on %1$I.%2$I
             referencing old table as _docpal_old
             for each statement execute function docpal_private.audit_capture(%2$L, %5$L);
         create or replace trigger _docpal_audit_truncate before truncate on %1$I.%2$I
             for each statement execute function docpal_private.audit_capture(%2$L, %6$L)',
        p_schema, v_table, v_insert, v_update, v_delete, v_truncate);
    for v_junction in
        select c->>'name' as name, c->'objects'->>'junction' as junction
          from pg_catalog.jsonb_array_elements(p_spec->'columns') c
         where c->>'type' = 'relation_many'
    loop
        execute pg_catalog.format(
            'create or replace trigger _docpal_audit_insert after insert on %1$I.%2$I
                 referencing new table as _docpal_new
                 for each statement execute function docpal_private.audit_links(%3$L, %4$L, %2$L);
             create or replace trigger _docpal_audit_update after update on %1$I.%2$I
                 referencing old table as _docpal_old new table as _docpal_new
                 for each statement execute function docpal_private.audit_links(%3$L, %4$L, %2$L);
             create or replace trigger _docpal_audit_delete after delete on %1$I.%2$I
                 referencing old table as _docpal_old
                 for each statement execute function docpal_private.audit_links(%3$L, %4$L, %2$L);
             create or replace trigger _docpal_audit_truncate before truncate on %1$I.%2$I
                 for each statement execute function docpal_private.audit_links(%3$L, %4$L, %2$L)',
            p_schema, v_junction.junction, v_table, v_junction.name);
    end loop;
end
$$;
