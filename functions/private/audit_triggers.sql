create or replace function docpal_private.audit_triggers(p_schema text, p_spec jsonb)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Creates (or re-creates, after every column change) the audit capture of a
   docpal table and of its relation_many junction tables.

   A table gets its own trigger function in the company schema
   (_audit_<slug>), generated here from its columns: static SQL, so each
   session plans the capture statements once (a generic function's EXECUTE
   was planned on every statement, which cost more than a single-row write),
   and the per-row work is plain column comparisons in C:
   - INSERT / DELETE / TRUNCATE: the whole row;
   - UPDATE: only rows whose data changed (a row comparison), old and new
     holding the changed columns plus version (and updated_by when it
     changed; updated_at is the entry's "at"), changed and summary in table
     order.
   Its plans are cached, and a plan made for a one-row statement would join
   the old and new rows of a 100,000-row one by nested loop (quadratic):
   the function turns nested loops off, so the join is always hashed.
   It is SECURITY DEFINER (anyone who may write the table is logged, whether
   or not they may write the log) and writes only into its own schema's log.
   Transition tables allow one event per trigger, hence one AFTER trigger per
   event; TRUNCATE is logged by a BEFORE trigger while the rows are there. The
   slug is baked in, never read from TG_TABLE_NAME (Citus: names the shard). */
declare
    v_table text := p_spec->>'slug';
    v_function text := docpal_private.ident('_audit', v_table);
    v_data text[];
    v_log text := pg_catalog.format('%I._audit_log', p_schema);
    v_entry text := 'insert into ' || v_log || ' (user_id, "table", record_id, action, version, old, new, changed, summary) ';
    v_changed text;
    v_unchanged text;
    v_summary text;
    v_update text;
    v_whole text;
    v_on_insert text;
    v_on_delete text;
    v_on_truncate text;
    v_junction record;
begin
    v_data := array(select a.attname::text from pg_catalog.pg_attribute a
                     where a.attrelid = pg_catalog.format('%I.%I', p_schema, v_table)::regclass and a.attnum > 0
                       and not a.attisdropped
                       and a.attname::text <> all (array['id', 'version', 'created_at', 'created_by', 'updated_at', 'updated_by'])
                     order by a.attnum);
    select pg_catalog.string_agg(pg_catalog.format('case when _o.%1$I is distinct from _n.%1$I then %1$L end', c), ', '),
           pg_catalog.string_agg(pg_catalog.format('case when _o.%1$I is not distinct from _n.%1$I then %1$L end', c), ', '),
           pg_catalog.string_agg(pg_catalog.format(
               'case when _o.%1$I is distinct from _n.%1$I then %2$L || %3$s || '' → '' || %4$s end', c, c || ': ',
               pg_catalog.replace(docpal_private.audit_text_sql(), '$v', pg_catalog.format('pg_catalog.to_jsonb(_o.%I)', c)),
               pg_catalog.replace(docpal_private.audit_text_sql(), '$v', pg_catalog.format('pg_catalog.to_jsonb(_n.%I)', c))), ', ')
      into v_changed, v_unchanged, v_summary
      from pg_catalog.unnest(v_data) c;
    v_update := v_entry || pg_catalog.format(
        'select _user, %1$L, _d._id, _update_action, _d._version,
                _d._old - _d._unchanged, _d._new - _d._unchanged, _d._changed, _d._summary
           from (select _n.id as _id, _n.version as _version, pg_catalog.to_jsonb(_o) as _old, pg_catalog.to_jsonb(_n) as _new,
                        pg_catalog.array_remove(array[%2$s]::text[], null) as _changed,
                        array[''id'', ''created_at'', ''created_by'', ''updated_at'',
                              case when _o.updated_by is not distinct from _n.updated_by then ''updated_by'' end]
                            || pg_catalog.array_remove(array[%3$s]::text[], null) as _unchanged,
                        pg_catalog.concat_ws(''; '', %4$s) as _summary
                   from _docpal_old _o join _docpal_new _n on _n.id = _o.id
                  where (%5$s) is distinct from (%6$s)) _d',
        v_table, coalesce(v_changed, ''), coalesce(v_unchanged, ''), coalesce(v_summary, 'null'),
        coalesce((select pg_catalog.string_agg(pg_catalog.format('_o.%I', c), ', ') from pg_catalog.unnest(v_data) c), 'null'),
        coalesce((select pg_catalog.string_agg(pg_catalog.format('_n.%I', c), ', ') from pg_catalog.unnest(v_data) c), 'null'));
    -- INSERT (new rows), DELETE (old rows) and TRUNCATE (the table): whole rows
    v_whole := v_entry || pg_catalog.format(
        'select _user, %1$L, _r.id, %%1$s, _r.version, %%2$s, %%3$s, %2$L::text[], %%4$s from %%5$s _r', v_table, v_data);
    v_on_insert := pg_catalog.format(v_whole, '_insert_action', 'null', 'pg_catalog.to_jsonb(_r)',
                                     'case when _label = ''RESTORE'' then ''restored'' else ''created'' end', '_docpal_new');
    v_on_delete := pg_catalog.format(v_whole, '''DELETE''', 'pg_catalog.to_jsonb(_r)', 'null', '''deleted''', '_docpal_old');
    v_on_truncate := pg_catalog.format(v_whole, '''DELETE''', 'pg_catalog.to_jsonb(_r)', 'null', '''deleted''',
                                       pg_catalog.format('%I.%I', p_schema, v_table));
    execute pg_catalog.format(
        'create or replace function %1$I.%2$I() returns trigger
             language plpgsql security definer
             set search_path = pg_catalog, pg_temp
             set enable_nestloop = off
         as $capture$
         /* Audit capture of table %3$s, generated by docpal_private.audit_triggers. */
         declare
             -- names start with _ so that no column (they never do) can shadow them
             _user uuid := docpal_private.context_user_claimed();
             _label text := pg_catalog.current_setting(''docpal.audit_action'', true);
             _update_action text := case when _label = ''ROLLBACK'' then ''ROLLBACK'' else ''UPDATE'' end;
             _insert_action text := case when _label = ''RESTORE'' then ''RESTORE'' else ''INSERT'' end;
         begin
             if tg_op = ''UPDATE'' then
                 %4$s;
             elsif tg_op = ''INSERT'' then
                 %5$s;
             elsif tg_op = ''DELETE'' then
                 %6$s;
             else
                 %7$s;
             end if;
             return null;
         end
         $capture$',
        p_schema, v_function, v_table, v_update, v_on_insert, v_on_delete, v_on_truncate);
    execute pg_catalog.format('revoke all on function %I.%I() from public', p_schema, v_function);
    execute pg_catalog.format(
        'create or replace trigger _docpal_audit_insert after insert on %1$I.%2$I
             referencing new table as _docpal_new
             for each statement execute function %1$I.%3$I();
         create or replace trigger _docpal_audit_update after update on %1$I.%2$I
             referencing old table as _docpal_old new table as _docpal_new
             for each statement execute function %1$I.%3$I();
         create or replace trigger _docpal_audit_delete after delete on %1$I.%2$I
             referencing old table as _docpal_old
             for each statement execute function %1$I.%3$I();
         create or replace trigger _docpal_audit_truncate before truncate on %1$I.%2$I
             for each statement execute function %1$I.%3$I()',
        p_schema, v_table, v_function);
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
