-- grant: docpal_service, docpal_app
create or replace function docpal.adopt_table(source regclass, slug text, spec jsonb default '{}')
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
    set "TimeZone" = 'UTC'
    set "DateStyle" = 'ISO, YMD'
    set "IntervalStyle" = 'postgres'
    set extra_float_digits = 1
as $$
/* Copies the existing plain table `source` into a new docpal table `slug`
   of the company in context (owners and admins) and returns
   {table (describe_table), mapping, rows}. The mapping (one entry per
   source column: {source_column, source_type, column, type, ...rules})
   is made by docpal_private.adopt_mapping; the table through
   docpal.create_table (its checks and quotas); the rows with ONE
   INSERT ... SELECT from the source, through the table's constraints and
   its audit capture like any insert (created_by: the caller). The source
   is only read. Spec: {dry_run, columns (per source column overrides),
   name, description, time_zone (for timestamp without time zone; default
   the company's settings.time_zone, else UTC)}; with dry_run true the
   result is {table (the create_table spec), mapping, rows (the source's),
   dry_run: true} and nothing is created. The adoption is remembered
   (a _catalog entry of kind adoption: the source's oid and name, the
   table's oid and which docpal column each source column became), so a
   foreign key of a table adopted later becomes a relation to this one.
   Errors: 42501 (no context, not an owner or admin, a source docpal or the
   calling login may not read, or inside docpal's or the system's schemas:
   docpal_private.adopt_source), 22023 (bad spec, a column without a docpal
   type, a source that is not a table), 42P07 (slug taken), 22P02/22007/
   22008 (a value that does not convert) and 23514/23505/23503/23502 (a
   value breaking a rule) naming the column and the value, with nothing
   created; 53400 past a quota; 54000 for an oversize spec. */
declare
    v_ctx docpal_private.caller;
    v_in jsonb;
    v_schema text;
    v_table text;
    v_source_name text;
    v_tz text;
    v_mapping jsonb;
    v_public jsonb;
    v_spec jsonb;
    v_result jsonb;
    v_rows bigint;
    v_id_entry jsonb;
    v_with text := '';
    v_tail text;
    v_targets text;
    v_values text;
    v_state text;
    v_message text;
    v_constraint text;
    v_column text;
begin
    perform docpal_private.check_spec_size(adopt_table.spec, 'adopt_table');
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.check_keys(coalesce(adopt_table.spec, '{}'), 'the adopt_table spec must be a JSON object',
                                      array['dry_run', 'columns', 'name', 'description', 'time_zone'],
                                      'unknown key %L in the adopt_table spec',
                                      'Keys: dry_run, columns, name, description, time_zone.');
    v_in := coalesce(adopt_table.spec, '{}');
    if adopt_table.slug is null or adopt_table.slug !~ '^[a-z][a-z0-9_]{0,62}$' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('invalid table slug %L', coalesce(adopt_table.slug, 'null')),
            hint = 'A slug is a lower-case letter, then up to 62 letters, digits or underscores.';
    end if;
    if v_in ? 'dry_run' and pg_catalog.jsonb_typeof(v_in->'dry_run') <> 'boolean'
       or v_in ? 'time_zone' and pg_catalog.jsonb_typeof(v_in->'time_zone') <> 'string'
       or v_in ? 'name' and pg_catalog.jsonb_typeof(v_in->'name') <> 'string' then
        raise exception using errcode = '22023',
            message = 'adopt_table spec: dry_run is true or false, time_zone and name are strings';
    end if;
    if adopt_table.source is null then
        raise exception using errcode = '22023', message = 'adopt_table needs a source table';
    end if;

    -- the source: where it is and who may read it, before anything reads it
    select s.o_schema, s.o_table into v_schema, v_table from docpal_private.adopt_source(adopt_table.source) s;
    v_source_name := pg_catalog.format('%I.%I', v_schema, v_table);
    -- no DDL on the source until the end (its shape is read once, then copied)
    execute pg_catalog.format('lock table %I.%I in access share mode', v_schema, v_table);

    select coalesce(v_in->>'time_zone', c.settings->>'time_zone', 'UTC') into v_tz
      from docpal_private.companies c where c.id = v_ctx.company_id;
    begin
        perform pg_catalog.now() at time zone v_tz;
    exception when others then
        raise exception using errcode = '22023', message = pg_catalog.format('unknown time zone %L', v_tz);
    end;
    if pg_catalog.to_regclass(pg_catalog.format('%I.%I', v_ctx.schema_name, adopt_table.slug)) is not null then
        raise exception using errcode = '42P07', message = pg_catalog.format('table %L already exists', adopt_table.slug);
    end if;

    v_mapping := docpal_private.adopt_mapping(v_ctx.schema_name, adopt_table.slug, adopt_table.source,
                                              v_schema, v_table, v_in->'columns', v_tz);
    v_public := (select coalesce(pg_catalog.jsonb_agg(
                     (select pg_catalog.jsonb_object_agg(k.key, k.value) from pg_catalog.jsonb_each(e) k
                       where k.key !~ '^_') order by o), '[]')
                   from pg_catalog.jsonb_array_elements(v_mapping) with ordinality x(e, o));
    v_spec := pg_catalog.jsonb_build_object(
        'slug', adopt_table.slug,
        'name', coalesce(v_in->>'name', adopt_table.slug),
        'columns', coalesce((select pg_catalog.jsonb_agg(e->'_spec' order by o)
                               from pg_catalog.jsonb_array_elements(v_mapping) with ordinality x(e, o)
                              where e ? '_spec'), '[]'));
    if v_in ? 'description' then
        v_spec := v_spec || pg_catalog.jsonb_build_object('description', v_in->'description');
    end if;

    if (v_in->>'dry_run')::boolean then
        execute pg_catalog.format('select pg_catalog.count(*) from %I.%I', v_schema, v_table) into v_rows;
        return pg_catalog.jsonb_build_object('table', v_spec, 'mapping', v_public, 'rows', v_rows, 'dry_run', true);
    end if;

    begin
        v_result := docpal.create_table(v_spec);
    exception when unique_violation then
        -- another transaction made the same table meanwhile (PostgreSQL's own catalog index)
        get stacked diagnostics v_constraint = constraint_name;
        if v_constraint in ('pg_type_typname_nsp_index', 'pg_class_relname_nsp_index') then
            raise exception using errcode = '42P07', message = pg_catalog.format('table %L already exists', adopt_table.slug);
        end if;
        raise;
    end;
    -- remembered, for the foreign keys of tables adopted later
    execute pg_catalog.format(
        'insert into %I._catalog as c (kind, slug, spec) values (''adoption'', $1, $2)
         on conflict (kind, slug) do update set spec = excluded.spec, updated_at = $3', v_ctx.schema_name)
      -- the time as a value: Citus refuses a function in DO UPDATE SET on a distributed table
      using adopt_table.slug, pg_catalog.jsonb_build_object(
                'source', v_source_name,
                'source_oid', adopt_table.source::oid::text,
                'table_oid', pg_catalog.format('%I.%I', v_ctx.schema_name, adopt_table.slug)::regclass::oid::text,
                'keys', (select coalesce(pg_catalog.jsonb_object_agg(e->>'source_column', e->>'column'), '{}')
                           from pg_catalog.jsonb_array_elements(v_mapping) e where e->>'column' is not null),
                'adopted_at', pg_catalog.now(),
                'adopted_by', v_ctx.user_id),
            pg_catalog.now();

    -- the copy: one statement
    perform docpal_private.citus_share();  -- the context on to Citus workers, if any (capture names the user)
    select e into v_id_entry from pg_catalog.jsonb_array_elements(v_mapping) e where e ? '_id';
    if exists (select from pg_catalog.jsonb_array_elements(v_mapping) e where e ? '_self') then
        -- a relation to itself: the new ids are made first, once, so the rows can point at each other
        v_with := pg_catalog.format('with _src as materialized (select %s as _docpal_id, _x.* from %I.%I _x)',
                                    case when v_id_entry is null then 'pg_catalog.gen_random_uuid()'
                                         else pg_catalog.format('_x.%I', v_id_entry->>'_id') end,
                                    v_schema, v_table);
        v_tail := '_src _s';
        v_id_entry := '{"_expr": "_s._docpal_id"}';
    else
        v_tail := pg_catalog.format('%I.%I _s', v_schema, v_table);
    end if;
    v_tail := v_tail || coalesce((select pg_catalog.string_agg(' ' || (e->>'_join'), '' order by o)
                                    from pg_catalog.jsonb_array_elements(v_mapping) with ordinality x(e, o)
                                   where e ? '_join'), '');
    select pg_catalog.string_agg(pg_catalog.format('%I', e->>'column'), ', ' order by o),
           pg_catalog.string_agg(e->>'_expr', ', ' order by o)
      into v_targets, v_values
      from pg_catalog.jsonb_array_elements(v_mapping) with ordinality x(e, o)
     where e ? '_spec';
    v_targets := pg_catalog.concat_ws(', ', case when v_id_entry is not null then 'id' end, v_targets, 'created_by, updated_by');
    v_values := pg_catalog.concat_ws(', ', v_id_entry->>'_expr', v_values, '$2, $2');
    begin
        execute pg_catalog.format('%s insert into %I.%I (%s) select %s from %s',
                                  v_with, v_ctx.schema_name, adopt_table.slug, v_targets, v_values, v_tail)
          using v_tz, v_ctx.user_id;
        get diagnostics v_rows = row_count;
    exception when data_exception or integrity_constraint_violation then
        get stacked diagnostics v_state = returned_sqlstate, v_message = message_text,
                                v_constraint = constraint_name, v_column = column_name;
        perform docpal_private.adopt_fault(v_ctx.schema_name, adopt_table.slug, v_source_name, v_mapping,
                                           v_with || '/*select*/' || v_tail, v_tz, v_state, v_message,
                                           nullif(v_constraint, ''), nullif(v_column, ''));
    end;
    return pg_catalog.jsonb_build_object('table', v_result, 'mapping', v_public, 'rows', v_rows);
end
$$;
