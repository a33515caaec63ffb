create or replace function docpal_private.import_part(p_company uuid, p_part jsonb)
    returns bigint
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Adds one piece of data to an import begun in this transaction
   (docpal_private.import_begin): {"records": {slug: [records]}}, {"files":
   [...]}, {"relations": {"tuples": [...]}}, {"workflow_log": [...]} or
   {"history": [...]}, as docpal_private.export_page gives them. Records
   keep their ids, versions and created/updated metadata and go in with one
   INSERT ... SELECT per table, through the capture triggers (audit, events,
   quotas); their relation_many lists go to the junction tables. A value
   that does not fit its column fails with PostgreSQL's code (22P02, 23514,
   23502, 23505 ...) and the table named; a piece that is not shaped like
   an export is 22023. In history mode the exported entries are the
   history: records go in without their capture (import_begin turns it
   off), and any entry the import wrote otherwise is taken out when the first history
   piece comes (docpal_private.import_clear_audit, or at import_finish).
   Returns the number of entries added. */
declare
    v_state record;
    v_key text;
    v_rows jsonb;
    v_slug text;
    v_count bigint := 0;
    v_sqlstate text;
    v_message text;
    v_detail text;
begin
    -- the import's state (a temporary table of import_begin, which plpgsql_check cannot see)
    perform 'PRAGMA:table: docpal_import (company_id uuid, schema_name text, history boolean, users jsonb, constraints jsonb, history_in boolean, settings jsonb)';
    select * into v_state from docpal_private.import_state(p_company);
    if p_part is null or pg_catalog.jsonb_typeof(p_part) <> 'object' then
        raise exception using errcode = '22023', message = 'an import piece is a JSON object';
    end if;
    for v_key, v_rows in select e.key, e.value from pg_catalog.jsonb_each(p_part) e loop
        if v_key = 'records' then
            if pg_catalog.jsonb_typeof(v_rows) <> 'object' then
                raise exception using errcode = '22023', message = 'records is an object of arrays by table';
            end if;
            for v_slug, v_rows in select e.key, e.value from pg_catalog.jsonb_each(p_part->'records') e loop
                -- history mode: the records go in without their capture (import_begin); should
                -- anything write entries, they go all at once (import_clear_audit) when the exported
                -- ones begin, or at import_finish, and after each batch that comes after them
                v_count := v_count + docpal_private.import_records(v_state.schema_name, v_slug, v_rows, v_state.users,
                                                                   v_state.history_in);
            end loop;
        elsif v_key in ('files', 'workflow_log', 'history') or v_key = 'relations' then
            if v_key = 'relations' then
                if pg_catalog.jsonb_typeof(v_rows) <> 'object' or exists (select from pg_catalog.jsonb_object_keys(v_rows) k
                                                                          where k <> 'tuples') then
                    raise exception using errcode = '22023',
                        message = 'relations among the data hold only tuples (the definitions come first)';
                end if;
                v_rows := coalesce(v_rows->'tuples', '[]');
            end if;
            if pg_catalog.jsonb_typeof(v_rows) <> 'array'
               or exists (select from pg_catalog.jsonb_array_elements(v_rows) r where pg_catalog.jsonb_typeof(r) <> 'object') then
                raise exception using errcode = '22023', message = pg_catalog.format('%s must be an array of objects', v_key);
            end if;
            continue when v_rows = '[]';
            v_rows := docpal_private.import_map_users(v_rows, v_state.users,
                case v_key when 'files' then array['created_by'] when 'relations' then '{}'::text[] else array['user_id'] end);
            begin
                if v_key = 'files' then
                    if exists (select from pg_catalog.jsonb_array_elements(v_rows) r
                                where pg_catalog.jsonb_typeof(r->'id') is distinct from 'string'
                                   or pg_catalog.jsonb_typeof(r->'size') is distinct from 'number') then
                        raise exception using errcode = '22023', message = 'a file is {id, name, size, mime, sha256, storage_key}';
                    end if;
                    perform docpal_private.quota_check(v_state.schema_name, 0,
                        (select pg_catalog.sum((r->>'size')::numeric)::bigint from pg_catalog.jsonb_array_elements(v_rows) r));
                    execute pg_catalog.format(
                        'insert into %1$I._files (id, name, size, mime, sha256, storage_key, created_at, created_by)
                         select r.id, r.name, r.size, r.mime, r.sha256, r.storage_key, coalesce(r.created_at, pg_catalog.now()),
                                r.created_by
                           from pg_catalog.jsonb_populate_recordset(null::%1$I._files, $1) r', v_state.schema_name)
                      using v_rows;
                elsif v_key = 'relations' then
                    perform docpal_private.rebac_tables(v_state.schema_name);
                    if exists (select from pg_catalog.jsonb_array_elements(v_rows) r,
                                           pg_catalog.unnest(array['object_type', 'object_id', 'relation', 'subject_type', 'subject_id']) k
                                where pg_catalog.jsonb_typeof(r->k) is distinct from 'string') then
                        raise exception using errcode = '22023',
                            message = 'a relation tuple is {object_type, object_id, relation, subject_type, subject_id, subject_relation}';
                    end if;
                    execute pg_catalog.format(
                        'insert into %1$I._tuples (object_type, object_id, relation, subject_type, subject_id, subject_relation)
                         select r.object_type, r.object_id, r.relation, r.subject_type, r.subject_id, coalesce(r.subject_relation, '''')
                           from pg_catalog.jsonb_populate_recordset(null::%1$I._tuples, $1) r', v_state.schema_name)
                      using v_rows;
                elsif v_key = 'workflow_log' then
                    perform docpal_private.workflow_tables(v_state.schema_name);
                    execute pg_catalog.format(
                        'insert into %1$I._workflow_log (id, at, "table", record_id, workflow, transition, from_state, to_state,
                                                         user_id, comment, kind)
                         select r.id, r.at, r."table", r.record_id, r.workflow, r.transition, r.from_state, r.to_state,
                                r.user_id, r.comment, r.kind
                           from pg_catalog.jsonb_populate_recordset(null::%1$I._workflow_log, $1) r', v_state.schema_name)
                      using v_rows;
                else
                    if not v_state.history then
                        raise exception using errcode = '22023',
                            message = 'history among the data of an import whose header has no history';
                    end if;
                    if not v_state.history_in then
                        perform docpal_private.import_clear_audit(v_state.schema_name);
                        -- a history may hold entries of tables dropped before the export
                        perform docpal_private.audit_default_partition(v_state.schema_name);
                        update pg_temp.docpal_import i set history_in = true where i.company_id = p_company;
                        v_state.history_in := true;
                    end if;
                    execute pg_catalog.format(
                        'insert into %1$I._audit_log (id, at, txid, user_id, db_role, "table", record_id, action, version,
                                                      old, new, changed, summary)
                         select r.id, r.at, r.txid, r.user_id, r.db_role, r."table", r.record_id, r.action, r.version,
                                r.old, r.new, r.changed, r.summary
                           from pg_catalog.jsonb_populate_recordset(null::%1$I._audit_log, $1) r', v_state.schema_name)
                      using v_rows;
                    -- what the company writes next comes after them (the batch's own ids: a max(id)
                    -- over the log would walk back over the entries the import's inserts took out)
                    execute pg_catalog.format(
                        'select pg_catalog.setval($1, greatest(m.v, case when s.is_called then s.last_value else 1 end))
                           from %s s,
                                (select pg_catalog.max((r->>''id'')::bigint) as v from pg_catalog.jsonb_array_elements($2) r) m',
                        pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I._audit_log', v_state.schema_name), 'id'))
                      using pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I._audit_log', v_state.schema_name), 'id'),
                            v_rows;
                end if;
            exception
                when sqlstate '22023' or sqlstate '53400' then raise;
                when others then
                    get stacked diagnostics v_sqlstate = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail;
                    raise exception using errcode = v_sqlstate,
                        message = pg_catalog.format('import of %s: %s', v_key, v_message), detail = v_detail;
            end;
            v_count := v_count + pg_catalog.jsonb_array_length(v_rows);
        else
            raise exception using errcode = '22023', message = pg_catalog.format('unknown import piece %L', v_key),
                hint = 'Pieces are records, files, relations (tuples), workflow_log and history.';
        end if;
    end loop;
    return v_count;
end
$$;
