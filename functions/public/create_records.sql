-- grant: docpal_service, docpal_app
create or replace function docpal.create_records(slug text, "rows" jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Inserts an array of records, all or nothing, and returns them in input
   order. Rows are inserted with one INSERT ... SELECT per distinct set of
   keys (so absent keys still take their defaults), not row by row. Errors as
   create_record (workflow state columns included); 22023 when rows is not
   an array of objects. */
declare
    v_hidden text[];
    v_ctx record;
    v_spec jsonb;
    v_rows jsonb;
    v_keys text[];
    v_columns text[];
    v_many text[];
    v_group jsonb;
    v_count bigint;
    v_bad bigint;
    v_all_keys jsonb;
    v_pairs numeric;
    v_uniform boolean;
    v_result jsonb;
    v_targets text;
    v_values text;
    v_record text;
    v_column text;
    v_state text;
    v_message text;
    v_detail text;
    v_constraint text;
    v_null_column text;
    v_filled text[] := '{}';
    v_input jsonb := create_records."rows";
begin
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, create_records.slug);
    if v_input is null or pg_catalog.jsonb_typeof(v_input) <> 'array' then
        raise exception using errcode = '22023', message = 'rows must be an array of JSON objects';
    end if;
    select pg_catalog.count(*), pg_catalog.count(*) filter (where pg_catalog.jsonb_typeof(r) <> 'object')
      into v_count, v_bad from pg_catalog.jsonb_array_elements(v_input) r;
    if v_bad > 0 then
        raise exception using errcode = '22023', message = 'rows must be an array of JSON objects';
    end if;
    if v_count = 0 then
        return '[]';
    end if;
    if v_spec ? 'workflows' then
        -- state columns start at their workflow's initial state (23514 for any other)
        select w.o_rows, w.o_filled into v_input, v_filled
          from docpal_private.workflow_rows(v_spec, v_input) w;
    end if;
    -- one pass over the keys: their union (each checked once), and whether
    -- every row has all of them (then one INSERT serves all rows)
    select pg_catalog.jsonb_object_agg(k.key, null), pg_catalog.sum(k.n)
      into v_all_keys, v_pairs
      from (select k as key, pg_catalog.count(*) as n
              from pg_catalog.jsonb_array_elements(v_input) r, pg_catalog.jsonb_object_keys(r) k
             group by k) k;
    select coalesce(pg_catalog.array_agg(k.key) filter (where not k.many), '{}'),
           coalesce(pg_catalog.array_agg(k.key) filter (where k.many), '{}')
      into v_columns, v_many
      from docpal_private.write_keys(v_spec, coalesce(v_all_keys, '{}'), true) k;
    perform docpal_private.require_permission(v_ctx.schema_name, v_ctx.user_id, v_ctx.member_role, v_ctx.scopes,
                                              create_records.slug, 'create',
                                              case when pg_catalog.cardinality(v_filled) = 0 then v_columns || v_many
                                                   else array(select c from pg_catalog.unnest(v_columns || v_many) c
                                                               where c <> all (v_filled)) end);
    v_uniform := coalesce(v_pairs, 0) = v_count * (pg_catalog.cardinality(v_columns) + pg_catalog.cardinality(v_many));

    v_record := docpal_private.record_sql(v_ctx.schema_name, v_spec, '_t');
    -- the caller gets back only what they may read
    v_hidden := docpal_private.hidden_columns(v_ctx.schema_name, v_ctx.user_id, v_ctx.member_role, v_ctx.scopes, v_spec);
    if pg_catalog.cardinality(v_hidden) > 0 then
        v_record := pg_catalog.format('(%s) - %L::text[]', v_record, v_hidden);
    end if;
    begin
        if v_uniform and pg_catalog.cardinality(v_many) = 0 then
            -- the common case: one statement, rows come back in input order
            select l.o_targets, l.o_values into v_targets, v_values from docpal_private.insert_lists(v_columns) l;
            execute pg_catalog.format(
                'with ins as (
                     insert into %I.%I as _t (%s) select %s from pg_catalog.jsonb_populate_recordset(null::%I.%I, $1) _r
                     returning %s as record)
                 select pg_catalog.jsonb_agg(ins.record) from ins',
                v_ctx.schema_name, create_records.slug, v_targets, v_values, v_ctx.schema_name, create_records.slug, v_record)
               into v_result using v_input, v_ctx.user_id;
            return v_result;
        end if;

        -- rows with different keys: give each an id, insert per key set, read back in order
        select pg_catalog.jsonb_agg(case when r ? 'id' then r else r || pg_catalog.jsonb_build_object('id', pg_catalog.gen_random_uuid()) end
                                    order by o)
          into v_rows from pg_catalog.jsonb_array_elements(v_input) with ordinality x(r, o);
        for v_keys, v_group in
            select g.keys, pg_catalog.jsonb_agg(g.r - v_many order by g.o)
              from (select r, o, array(select k from pg_catalog.jsonb_object_keys(r - v_many) k order by k) as keys
                      from pg_catalog.jsonb_array_elements(v_rows) with ordinality x(r, o)) g
             group by g.keys
        loop
            select l.o_targets, l.o_values into v_targets, v_values from docpal_private.insert_lists(v_keys) l;
            execute pg_catalog.format(
                'insert into %I.%I (%s) select %s from pg_catalog.jsonb_populate_recordset(null::%I.%I, $1) _r',
                v_ctx.schema_name, create_records.slug, v_targets, v_values, v_ctx.schema_name, create_records.slug)
              using v_group, v_ctx.user_id;
        end loop;
        foreach v_column in array v_many loop
            perform docpal_private.write_links(v_ctx.schema_name, v_spec, v_column,
                (select pg_catalog.jsonb_object_agg(r->>'id', r->v_column)
                   from pg_catalog.jsonb_array_elements(v_rows) r where r ? v_column));
        end loop;
    exception
        when integrity_constraint_violation or data_exception then
            get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail,
                                    v_constraint = constraint_name, v_null_column = column_name;
            perform docpal_private.raise_write_error(v_ctx.schema_name, v_spec, v_input,
                                                     v_state, v_message, nullif(v_detail, ''), nullif(v_constraint, ''),
                                                     nullif(v_null_column, ''));
    end;
    execute pg_catalog.format(
        'select pg_catalog.jsonb_agg(%s order by x.o)
           from pg_catalog.jsonb_array_elements($1) with ordinality x(r, o)
           join %I.%I _t on _t.id = (x.r->>''id'')::uuid',
        v_record, v_ctx.schema_name, create_records.slug)
       into v_result using v_rows;
    return v_result;
end
$$;
