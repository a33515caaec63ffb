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
   Its plans are cached, so nothing in them may be per-row work that grows
   with the statement (the notification counts its events with window
   functions, not a join). A plan made for a one-row statement would join
   the old and new rows of a 100,000-row one by nested loop (quadratic):
   the function turns nested loops off, so the join is always hashed; and
   JIT off, which the cost of a disabled nested loop (the one-row join of
   the notification query) would otherwise trigger on every statement; and
   work_mem 32MB, so that the join and the entries of a 100,000-row
   statement stay in memory (at the default 4MB they went to temporary
   files; memory is taken only as a statement needs it).
   It is SECURITY DEFINER (anyone who may write the table is logged, whether
   or not they may write the log) and writes only into its own schema's log.
   Its SET clause pins the settings that change how values print
   (extra_float_digits, IntervalStyle, DateStyle, TimeZone), so images and
   summaries are the same whoever writes; the labels ROLLBACK and RESTORE
   come only from docpal's signed switch (docpal_private.switch), never
   from a plain setting. Notifications go to the company's own channel
   (docpal_private.notify_target, its query written into the body: one
   lookup per statement) with one empty wake-up on docpal_events, and none
   at all while the notification queue is too full: a write never fails or
   waits because of them.
   Every statement that adds or removes rows reads the company's quota (one
   primary-key read of <schema>._quota, all a company without one pays) and,
   when there is one, adds its row delta to the company's record count and,
   after an insert, checks the quota (docpal_private.quota_sql, one block at
   the end, the delta being the entries the path wrote: 53400 past
   max_records or max_bytes).
   Transition tables allow one event per trigger, hence one AFTER trigger per
   event; TRUNCATE is logged by a BEFORE trigger while the rows are there. The
   slug is baked in, never read from TG_TABLE_NAME (Citus: names the shard). */
declare
    v_table text := p_spec->>'slug';
    v_function text := docpal_private.ident('_audit', v_table);
    v_data text[];
    v_company record;
    v_events boolean;
    v_changed text;
    v_old_image text;
    v_new_image text;
    v_summary text;
    v_workflow_row text;
    v_update text;
    v_whole text;
    v_on_insert text;
    v_on_delete text;
    v_on_truncate text;
    v_write text;
    v_relation text;
    v_call text;
    v_trigger text;
    v_shard text;
    v_entries text;
    v_body text;
    v_tag text := '$capture$';
begin
    perform docpal_private.data_setup(p_schema);
    perform docpal_private.citus_ddl();
    select * into strict v_company from docpal_private.companies c where c.schema_name = p_schema;
    -- settings.events = false: a company that wants no events (a benchmark's baseline)
    v_events := v_company.settings->'events' is distinct from 'false'::jsonb;
    v_data := array(select a.attname::text from pg_catalog.pg_attribute a
                     where a.attrelid = pg_catalog.format('%I.%I', p_schema, v_table)::regclass and a.attnum > 0
                       and not a.attisdropped
                       and a.attname::text <> all (array['id', 'version', 'created_at', 'created_by', 'updated_at', 'updated_by'])
                     order by a.attnum);
    -- per data column: its name when it changed; the images' terms (the
    -- column when it changed: old and new hold only those, plus version, and
    -- updated_by when it changed); its summary part, read back from the
    -- images (a column is in the old image exactly when it changed; ->> is
    -- the value as docpal_private.audit_text_sql takes it)
    select pg_catalog.string_agg(pg_catalog.format('case when _o.%1$I is distinct from _n.%1$I then %1$L end', c), ', '),
           pg_catalog.string_agg(pg_catalog.format(
               ' || case when _o.%1$I is distinct from _n.%1$I then pg_catalog.jsonb_build_object(%1$L, _o.%1$I) else ''{}'' end', c), ''),
           pg_catalog.string_agg(pg_catalog.format(
               ' || case when _o.%1$I is distinct from _n.%1$I then pg_catalog.jsonb_build_object(%1$L, _n.%1$I) else ''{}'' end', c), ''),
           pg_catalog.string_agg(pg_catalog.format(
               'case when _d._old ? %1$L then %2$L || %3$s || '' → '' || %4$s end', c, c || ': ',
               pg_catalog.replace(docpal_private.audit_text_sql(), '$t', pg_catalog.format('(_d._old ->> %L)', c)),
               pg_catalog.replace(docpal_private.audit_text_sql(), '$t', pg_catalog.format('(_d._new ->> %L)', c))), ', ')
      into v_changed, v_old_image, v_new_image, v_summary
      from pg_catalog.unnest(v_data) c;
    -- each path selects its entries as _d (_id, _version, _old, _new, _changed,
    -- _summary, _workflow); v_write turns them into log entries and events.
    -- _workflow: the event rules of the table, in the order they were made
    -- (the first whose actions and `when` match the written row names the
    -- workflow); the action is an argument of event_rules_sql, so nothing is
    -- ever replaced inside generated SQL, whose literals hold rule values.
    -- The images are built column by column (to_jsonb of the whole row, less
    -- the unchanged columns, cost four times as much in a bulk UPDATE); the
    -- version goes in as numeric, which jsonb stores as it is (an integer is
    -- printed and parsed again: the same value, at a cost per row).
    v_update := pg_catalog.format(
        'select _d._id, _d._version, _d._old, _d._new, _d._changed,
                pg_catalog.array_to_string(array[%3$s]::text[], ''; '') as _summary, _d._workflow
           from (select _n.id as _id, _n.version as _version,
                        pg_catalog.jsonb_build_object(''version'', _o.version::pg_catalog.numeric)
                        || case when _o.updated_by is distinct from _n.updated_by
                                then pg_catalog.jsonb_build_object(''updated_by'', _o.updated_by) else ''{}'' end%1$s as _old,
                        pg_catalog.jsonb_build_object(''version'', _n.version::pg_catalog.numeric)
                        || case when _o.updated_by is distinct from _n.updated_by
                                then pg_catalog.jsonb_build_object(''updated_by'', _n.updated_by) else ''{}'' end%2$s as _new,
                        pg_catalog.array_remove(array[%4$s]::text[], null) as _changed,
                        %7$s as _workflow
                   from _docpal_old _o join _docpal_new _n on _n.id = _o.id
                  where (%5$s) is distinct from (%6$s)
                 offset 0) _d',  -- offset 0: the images are built once, not once per reference
        coalesce(v_old_image, ''), coalesce(v_new_image, ''), coalesce(v_summary, 'null'), coalesce(v_changed, ''),
        coalesce((select pg_catalog.string_agg(pg_catalog.format('_o.%I', c), ', ') from pg_catalog.unnest(v_data) c), 'null'),
        coalesce((select pg_catalog.string_agg(pg_catalog.format('_n.%I', c), ', ') from pg_catalog.unnest(v_data) c), 'null'),
        docpal_private.event_rules_sql(p_schema, p_spec, '_n', '_update_action'));
    -- INSERT (new rows), DELETE (old rows) and TRUNCATE (the table): whole rows
    v_whole := pg_catalog.format(
        'select _r.id as _id, _r.version as _version, %%1$s as _old, %%2$s as _new, %1$L::text[] as _changed,
                %%3$s as _summary, %%4$s as _workflow from %%5$s _r', v_data);
    v_on_insert := pg_catalog.format(v_whole, 'null::jsonb', 'pg_catalog.to_jsonb(_r)',
                                     'case when _label = ''RESTORE'' then ''restored'' else ''created'' end',
                                     docpal_private.event_rules_sql(p_schema, p_spec, '_r', '_insert_action'), '_docpal_new');
    v_workflow_row := docpal_private.event_rules_sql(p_schema, p_spec, '_r', '''DELETE''');
    v_on_delete := pg_catalog.format(v_whole, 'pg_catalog.to_jsonb(_r)', 'null::jsonb', '''deleted''',
                                     v_workflow_row, '_docpal_old');
    v_on_truncate := pg_catalog.format(v_whole, 'pg_catalog.to_jsonb(_r)', 'null::jsonb', '''deleted''',
                                       v_workflow_row, pg_catalog.format('%I.%I', p_schema, v_table));
    -- One statement per path (%1$s its select, %2$s its action) writes the
    -- audit entries, the outbox rows (same transaction: nothing is left of
    -- rolled-back work) and the notifications. Notifications are a wake-up
    -- only and go out at commit, on the company's channel (_channel, null
    -- while they are skipped): one per event up to the platform setting
    -- notify_limit (_limit; default 100) events in a statement, one summary
    -- beyond. _sent counts them; the body then adds one empty wake-up on the
    -- platform channel. _count: the entries written (the quota's row delta).
    v_write := pg_catalog.format(
        'with _d as (%%1$s),
              _a as (insert into %1$I._audit_log (user_id, "table", record_id, action, version, old, new, changed, summary)
                     select _user, %2$L, _d._id, %%2$s, _d._version, _d._old, _d._new, _d._changed, _d._summary from _d)',
        p_schema, v_table);
    if v_events then
        v_write := v_write || pg_catalog.format(',
              _e as (insert into %1$I._events ("table", record_id, action, version, changed, user_id, workflow)
                     select %2$L, _d._id, %%2$s, _d._version, _d._changed, _user, _d._workflow from _d
                     returning id, record_id, action, version, changed, at, workflow)
         select pg_catalog.count(pg_catalog.pg_notify(_channel, case
                    when _w.n <= _limit then docpal_private.event_notice(%3$L, _w.id, %2$L, _w.record_id, _w.action,
                                                                           _w.version, _w.changed, _user, _w.at, _w.workflow)
                    else pg_catalog.json_build_object(''company_id'', %3$L::uuid, ''first_event_id'', _w.lo,
                                                      ''last_event_id'', _w.hi, ''count'', _w.n)::text end)::text)
                    filter (where _channel is not null and (_w.n <= _limit or _w.id = _w.lo)),
                pg_catalog.count(*)
           into _sent, _count
           from (select _e.*, pg_catalog.count(*) over () as n, pg_catalog.min(_e.id) over () as lo,
                        pg_catalog.max(_e.id) over () as hi
                   from _e) _w',
            p_schema, v_table, v_company.id);
    else
        v_write := v_write || ' select 0, pg_catalog.count(*) into _sent, _count from _d';
    end if;
    -- On a Citus worker (the company is distributed; tg_table_name names the
    -- shard) the statement above cannot run: Citus plans a statement on a
    -- distributed table (the log, the outbox) as a distributed query, which
    -- cannot read the trigger's transition tables. There the entries are
    -- first read into _rows (a statement on the transition tables only),
    -- then written with ids from the company's clock
    -- (docpal_private.clock_take) and no transaction id; no notification
    -- (a NOTIFY on a worker is heard only there, and fails the commit of a
    -- transaction that spans nodes; consumers poll).
    -- the entries read back from _rows, as each path's select (_d) named them
    v_entries := 'pg_catalog.jsonb_to_recordset(_rows) as _r(_id uuid, _version integer, _old jsonb, _new jsonb,
                                                             _changed text[], _summary text, _workflow jsonb)';
    v_shard := pg_catalog.format(
        'select c.audit_base, c.event_base into _abase, _ebase
           from docpal_private.clock_take(%1$L, _count, %3$s, %4$s) c;
         insert into %1$I._audit_log (id, txid, user_id, "table", record_id, action, version, old, new, changed, summary)
         select _abase + pg_catalog.row_number() over (), null, _user, %2$L, _r._id, _action, _r._version,
                _r._old, _r._new, _r._changed, _r._summary
           from %5$s',
        p_schema, v_table, case when v_events then '_count' else '0' end, v_company.number, v_entries);
    if v_events then
        v_shard := v_shard || pg_catalog.format(';
         insert into %1$I._events (id, xid, "table", record_id, action, version, changed, user_id, workflow)
         select _ebase + pg_catalog.row_number() over (), null, %2$L, _r._id, _action, _r._version, _r._changed,
                _user, _r._workflow
           from %3$s',
            p_schema, v_table, v_entries);
    end if;
    v_body := pg_catalog.format(
        '
         /* Audit and event capture of table %1$s, generated by docpal_private.audit_triggers. */
         declare
             -- names start with _ so that no column (they never do) can shadow them;
             -- the user the context names, unverified, for the reason given in
             -- stamp_update (inline: a call costs more than the check itself)
             _context text := pg_catalog.split_part(pg_catalog.current_setting(''docpal.context'', true), ''|'', 2);
             _user uuid := case when _context ~ ''^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$''
                                then _context::uuid end;
             -- a label only when docpal signed it for this transaction
             -- (docpal_private.switch); an ordinary write pays one current_setting
             _label text := case when pg_catalog.current_setting(''docpal.audit_action'', true) <> ''''
                                 then docpal_private.switch(''audit_action'') end;
             _update_action text := case when _label = ''ROLLBACK'' then ''ROLLBACK'' else ''UPDATE'' end;
             _insert_action text := case when _label = ''RESTORE'' then ''RESTORE'' else ''INSERT'' end;
             _limit bigint;
             _channel text;
             _sent bigint;
             _rows jsonb;
             _count bigint;
             _action text;
             _abase bigint;
             _ebase bigint;
             -- quota (docpal_private.quota_sql): whether the company has one, and
             -- the rows the statement adds (removes, when negative)
             _limited boolean;
             _delta bigint := 0;
             _max_records bigint;
             _max_bytes bigint;
             _used bigint;
         begin
             if tg_table_name <> %1$L then
                 -- on a Citus worker: see docpal_private.audit_triggers
                 if tg_op = ''UPDATE'' then
                     select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(_d)) into _rows from (%7$s) _d;
                     _action := _update_action;
                 elsif tg_op = ''INSERT'' then
                     select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(_d)) into _rows from (%8$s) _d;
                     _action := _insert_action;
                 else
                     -- DELETE (Citus puts no TRUNCATE trigger on a shard; the
                     -- coordinator refuses a TRUNCATE, below)
                     select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(_d)) into _rows from (%9$s) _d;
                     _action := ''DELETE'';
                 end if;
                 _count := coalesce(pg_catalog.jsonb_array_length(_rows), 0);
                 if _count > 0 then
                     %10$s;
                 end if;
             else%2$s
             if tg_op = ''UPDATE'' then
                 %3$s;
             elsif tg_op = ''INSERT'' then
                 %4$s;
             elsif tg_op = ''DELETE'' then
                 %5$s;
             else
                 if docpal_private.company_distributed(tg_table_schema) then
                     -- Citus puts no TRUNCATE trigger on a shard: nothing would
                     -- log the rows, so a distributed company''s table is not
                     -- truncated (DELETE is logged)
                     raise exception using errcode = ''0A000'',
                         message = pg_catalog.format(''a table of a distributed company cannot be truncated: %%s'', %1$L),
                         hint = ''DELETE the rows instead: it is audited.'';
                 end if;
                 -- a TRUNCATE may be the first write of its transaction: take the
                 -- transaction id before the entries (docpal_private.seal_audit)
                 perform pg_catalog.pg_current_xact_id();
                 %6$s;
             end if;
             end if;
             -- the rows the statement added (removed) are its entries%11$s
             if _sent > 0 then
                 -- the platform channel: a wake-up that names nothing (identical
                 -- notifications of one transaction fold into one)
                 perform pg_catalog.pg_notify(''docpal_events'', '''');
             end if;
             return null;
         end
         ',
        v_table,
        case when v_events then pg_catalog.format('
             -- the channel (null while notifications are skipped) and notify_limit:
             -- docpal_private.notify_target, written in (one statement, no call)
             select _t.channel, _t.single_limit into _channel, _limit from (%s) _t;',
            docpal_private.notify_target_sql(v_company.id)) else '' end,
        pg_catalog.format(v_write, v_update, '_update_action'),
        pg_catalog.format(v_write, v_on_insert, '_insert_action'),
        pg_catalog.format(v_write, v_on_delete, '''DELETE'''),
        pg_catalog.format(v_write, v_on_truncate, '''DELETE'''),
        v_update, v_on_insert, v_on_delete, v_shard,
        -- the record counting and quota check, once for every path (each sets
        -- _count to its entries: the rows it inserted, deleted or truncated);
        -- '' while the schema has no _usage: docpal_private.quota_sql
        docpal_private.quota_sql(p_schema, '_delta := case tg_op when ''INSERT'' then _count
                                                                   when ''UPDATE'' then 0 else -_count end'));
    -- a dollar quote that the body (whose literals hold rule values) does not contain
    while pg_catalog.strpos(v_body, v_tag) > 0 loop
        v_tag := '$capture_' || pg_catalog.left(pg_catalog.md5(v_tag), 8) || '$';
    end loop;
    -- In a distributed company, a new table (and its junction tables) joins the
    -- company BEFORE its capture function and triggers are made: distributed
    -- with a capture function made in this transaction, Citus would create the
    -- table's sequence (autonumber) in the transaction's own connection but
    -- record it over another one, which cannot see it ("relation ..._seq does
    -- not exist": the second such table of one apply_blueprint or import).
    -- The triggers then go onto the distributed table, as for a table that
    -- exists. A new table has no rows to miss.
    perform docpal_private.citus_colocate(p_schema);
    execute pg_catalog.format(
        'create or replace function %1$I.%2$I() returns trigger
             language plpgsql security definer
             set search_path = pg_catalog, pg_temp
             set enable_nestloop = off
             set jit = off
             set work_mem = ''32MB''
             set extra_float_digits = 1
             set intervalstyle = postgres
             set datestyle = ''ISO, MDY''
             set timezone = ''UTC''
         as %3$s%4$s%3$s',
        p_schema, v_function, v_tag, v_body);
    execute pg_catalog.format('revoke all on function %I.%I() from public', p_schema, v_function);
    -- the company's history query (docpal.record_history), planned once per session
    perform docpal_private.audit_history_setup(p_schema);
    -- the same four triggers on the table (its capture function) and on each
    -- relation_many junction table (docpal_private.audit_links, told which column)
    for v_relation, v_call in
        select v_table, pg_catalog.format('%I.%I()', p_schema, v_function)
        union all
        select c->'objects'->>'junction',
               pg_catalog.format('docpal_private.audit_links(%L, %L, %L, %L, %L)', v_table, c->>'name',
                                 c->'objects'->>'junction', v_company.number, v_events)
          from pg_catalog.jsonb_array_elements(p_spec->'columns') c
         where c->>'type' = 'relation_many'
    loop
        -- one statement per EXECUTE (Citus: no several commands in one)
        foreach v_trigger in array array[
            pg_catalog.format('create or replace trigger _docpal_audit_insert after insert on %1$I.%2$I
                 referencing new table as _docpal_new
                 for each statement execute function %3$s', p_schema, v_relation, v_call),
            pg_catalog.format('create or replace trigger _docpal_audit_update after update on %1$I.%2$I
                 referencing old table as _docpal_old new table as _docpal_new
                 for each statement execute function %3$s', p_schema, v_relation, v_call),
            pg_catalog.format('create or replace trigger _docpal_audit_delete after delete on %1$I.%2$I
                 referencing old table as _docpal_old
                 for each statement execute function %3$s', p_schema, v_relation, v_call),
            pg_catalog.format('create or replace trigger _docpal_audit_truncate before truncate on %1$I.%2$I
                 for each statement execute function %3$s', p_schema, v_relation, v_call)]
        loop
            execute v_trigger;
        end loop;
    end loop;
    -- the table and its junction tables, in a distributed company: distributed
    -- with it (every schema change ends here)
    perform docpal_private.citus_colocate(p_schema);
end
$$;
