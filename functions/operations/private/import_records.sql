create or replace function docpal_private.import_records(p_schema text, p_slug text, p_rows jsonb, p_users jsonb,
                                                         p_history boolean)
    returns bigint
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Inserts exported records of table p_slug as they are (id, version,
   created/updated metadata, every stored column; formulas are computed
   again) with one INSERT ... SELECT, then their relation_many lists. The
   capture triggers see the insert (audit entries; the record quota; events,
   which are off while a company is imported: docpal_private.import_begin;
   in history mode import_begin turns the capture of inserts off instead);
   the junction writes are not logged apart (signed switch audit_links off).
   With p_history (records after history entries) any entry the insert
   wrote is removed again under the maintenance switch: the exported
   history replaces it. 22023 for an unknown table or a piece that is not records;
   a value that does not fit fails with PostgreSQL's code and the table named. */
declare
    v_spec jsonb;
    v_columns text[];
    v_users text[];
    v_bad text;
    v_allowed text[];
    v_column jsonb;
    v_mark bigint;
    v_sequence text;
    v_sqlstate text;
    v_message text;
    v_detail text;
begin
    if pg_catalog.jsonb_typeof(p_rows) is distinct from 'array' then
        raise exception using errcode = '22023', message = pg_catalog.format('records of %s must be an array', p_slug);
    end if;
    if p_rows = '[]' then
        return 0;
    end if;
    execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = $1 and c.slug = $2', p_schema)
       into v_spec using 'table', p_slug;
    if v_spec is null then
        raise exception using errcode = '22023', message = pg_catalog.format('records of table %s, which the export does not define', p_slug);
    end if;
    v_columns := docpal_private.physical_columns(v_spec, false);
    v_allowed := docpal_private.system_columns()
                 || array(select c->>'name' from pg_catalog.jsonb_array_elements(v_spec->'columns') c);
    -- one cheap pass over the piece; only a bad one is looked at again, to say what is wrong
    if exists (select from pg_catalog.jsonb_array_elements(p_rows) r
                where case when pg_catalog.jsonb_typeof(r) <> 'object' then true
                           when pg_catalog.jsonb_typeof(r->'version') is distinct from 'number' then true
                           else (r->'version')::numeric < 1 or (r->'version')::numeric % 1 <> 0
                                or pg_catalog.jsonb_typeof(r->'id') is distinct from 'string'
                                or pg_catalog.jsonb_typeof(r->'created_at') is distinct from 'string'
                                or pg_catalog.jsonb_typeof(r->'updated_at') is distinct from 'string'
                                or r - v_allowed <> '{}' end) then
        select r.o::text into v_bad
          from pg_catalog.jsonb_array_elements(p_rows) with ordinality r(v, o)
         where pg_catalog.jsonb_typeof(r.v) <> 'object'
            or pg_catalog.jsonb_typeof(r.v->'id') is distinct from 'string'
            or not docpal_private.whole_number(r.v->'version', 1)
            or pg_catalog.jsonb_typeof(r.v->'created_at') is distinct from 'string'
            or pg_catalog.jsonb_typeof(r.v->'updated_at') is distinct from 'string'
         limit 1;
        if v_bad is not null then
            raise exception using errcode = '22023',
                message = pg_catalog.format('table %s: record %s of the piece has no id, version, created_at and updated_at', p_slug, v_bad);
        end if;
        select k into v_bad
          from (select distinct k from pg_catalog.jsonb_array_elements(p_rows) r, pg_catalog.jsonb_object_keys(r) k) x
         where k <> all (docpal_private.system_columns())
           and not exists (select from pg_catalog.jsonb_array_elements(v_spec->'columns') c where c->>'name' = x.k)
         limit 1;
        if v_bad is not null then
            raise exception using errcode = '22023', message = pg_catalog.format('table %s has no column %s', p_slug, v_bad);
        end if;
    end if;
    v_users := array['created_by', 'updated_by']
               || array(select c->>'name' from pg_catalog.jsonb_array_elements(v_spec->'columns') c where c->>'type' = 'user');
    p_rows := docpal_private.import_map_users(p_rows, p_users, v_users);
    if p_history then
        -- the entries this insert writes take ids above the sequence's value now (a max(id)
        -- would walk back over the entries earlier batches took out: quadratic)
        v_sequence := pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I._audit_log', p_schema), 'id');
        execute pg_catalog.format('select case when s.is_called then s.last_value else 0 end from %s s', v_sequence)
           into v_mark;
    end if;
    begin
        execute pg_catalog.format(
            'insert into %1$I.%2$I as _t (id, version, created_at, updated_at, created_by, updated_by%3$s)
             select _r.id, _r.version, _r.created_at, _r.updated_at, _r.created_by, _r.updated_by%4$s
               from pg_catalog.jsonb_populate_recordset(null::%1$I.%2$I, $1) _r',
            p_schema, p_slug,
            coalesce((select pg_catalog.string_agg(pg_catalog.format(', %I', c), '') from pg_catalog.unnest(v_columns) c), ''),
            coalesce((select pg_catalog.string_agg(pg_catalog.format(', _r.%I', c), '') from pg_catalog.unnest(v_columns) c), ''))
          using p_rows;
        perform docpal_private.switch_set('audit_links', 'off');
        for v_column in select c from pg_catalog.jsonb_array_elements(v_spec->'columns') c where c->>'type' = 'relation_many' loop
            if exists (select from pg_catalog.jsonb_array_elements(p_rows) r
                        where r ? (v_column->>'name') and r->(v_column->>'name') <> 'null'
                          and (pg_catalog.jsonb_typeof(r->(v_column->>'name')) <> 'array'
                               or exists (select from pg_catalog.jsonb_array_elements(r->(v_column->>'name')) v
                                           where pg_catalog.jsonb_typeof(v) <> 'string'))) then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('%s.%s takes an array of record ids', p_slug, v_column->>'name');
            end if;
            execute pg_catalog.format(
                'insert into %I.%I (source_id, target_id, position)
                 select (r->>''id'')::uuid, (v #>> ''{}'')::uuid, x.o
                   from pg_catalog.jsonb_array_elements($1) r,
                        pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(r->$2) = ''array'' then r->$2 else ''[]'' end)
                            with ordinality x(v, o)',
                p_schema, v_column->'objects'->>'junction')
              using p_rows, v_column->>'name';
        end loop;
        perform docpal_private.switch_set('audit_links', null);
    exception
        when sqlstate '22023' or sqlstate '53400' then raise;
        when others then
            get stacked diagnostics v_sqlstate = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail;
            raise exception using errcode = v_sqlstate,
                message = pg_catalog.format('import of table %s: %s', p_slug, v_message), detail = v_detail;
    end;
    if p_history then
        perform docpal_private.switch_set('audit_maintenance', 'on');
        execute pg_catalog.format('delete from %I._audit_log l where l.id > $1', p_schema) using v_mark;
        perform docpal_private.switch_set('audit_maintenance', null);
    end if;
    return pg_catalog.jsonb_array_length(p_rows);
end
$$;
