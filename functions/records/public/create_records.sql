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
   create_record (workflow state columns included, an explicit id the audit
   log knows is 23505, a row outside the create grants is 23514 rule
   row_filter); 22023 when rows is not an array of objects. The grants are
   checked on all new rows at once, in one statement after the inserts
   (a failure rolls every row back), and the rows come back with only the
   cells the caller may read. */
declare
    v_ctx docpal_private.caller;
    v_perm jsonb;
    v_read jsonb;
    v_grants jsonb;
    v_n integer;
    v_ids uuid[];
    v_bad integer;
    v_bad_matched boolean[];
    v_bad_id uuid;
    v_bad_columns text[];
    v_spec jsonb;
    v_rows jsonb;
    v_keys text[];
    v_columns text[];
    v_many text[];
    v_group jsonb;
    v_count bigint;
    v_nonobject bigint;
    v_all_keys jsonb;
    v_pairs numeric;
    v_uniform boolean;
    v_result jsonb;
    v_targets text;
    v_values text;
    v_sql text[] := '{}';
    v_data jsonb[] := '{}';
    v_filled text[] := '{}';
    v_input jsonb := create_records."rows";
begin
    perform docpal_private.citus_share();  -- the context on to Citus workers, if any
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, create_records.slug);
    if v_input is null or pg_catalog.jsonb_typeof(v_input) <> 'array' then
        raise exception using errcode = '22023', message = 'rows must be an array of JSON objects';
    end if;
    select pg_catalog.count(*), pg_catalog.count(*) filter (where pg_catalog.jsonb_typeof(r) <> 'object')
      into v_count, v_nonobject from pg_catalog.jsonb_array_elements(v_input) r;
    if v_nonobject > 0 then
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
    v_perm := docpal_private.require_permission(v_ctx, create_records.slug, 'create',
                                              case when pg_catalog.cardinality(v_filled) = 0 then v_columns || v_many
                                                   else array(select c from pg_catalog.unnest(v_columns || v_many) c
                                                               where c <> all (v_filled)) end);
    v_uniform := coalesce(v_pairs, 0) = v_count * (pg_catalog.cardinality(v_columns) + pg_catalog.cardinality(v_many));

    v_read := docpal_private.permission(v_ctx, create_records.slug, 'read');
    if v_all_keys ? 'id' then
        perform docpal_private.require_new_ids(v_ctx.schema_name, create_records.slug, v_input);
    end if;
    v_uniform := v_uniform and pg_catalog.cardinality(v_many) = 0;
    if v_uniform then
        -- the common case: one statement, ids come back in input order
        select l.o_targets, l.o_values into v_targets, v_values from docpal_private.insert_lists(v_columns) l;
        v_sql := array[pg_catalog.format(
            'insert into %I.%I as _t (%s) select %s from pg_catalog.jsonb_populate_recordset(null::%I.%I, $1) _r returning _t.id',
            v_ctx.schema_name, create_records.slug, v_targets, v_values, v_ctx.schema_name, create_records.slug)];
        v_data := array[v_input];
        v_rows := v_input;
    else
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
            v_sql := v_sql || pg_catalog.format(
                'insert into %I.%I as _t (%s) select %s from pg_catalog.jsonb_populate_recordset(null::%I.%I, $1) _r returning _t.id',
                v_ctx.schema_name, create_records.slug, v_targets, v_values, v_ctx.schema_name, create_records.slug);
            v_data := v_data || v_group;
        end loop;
    end if;
    -- the inserts then the links, all or nothing; the ids in input order
    v_ids := docpal_private.write_rows(v_ctx.schema_name, v_spec, v_rows,
                                       docpal_private.cell_columns(v_read->'grants', null),
                                       v_sql, v_data, v_ctx.user_id, v_many);
    if not v_uniform then
        v_ids := array(select (r->>'id')::uuid from pg_catalog.jsonb_array_elements(v_rows) r);
    end if;
    -- every new row at once: the create grants' filters hold on it, cell by
    -- cell, and the caller gets back only the cells they may read
    v_grants := (v_perm->'grants') || coalesce(v_read->'grants', '[]');
    v_n := pg_catalog.jsonb_array_length(v_perm->'grants');
    with cells as (
             select c.id, c.record, c.matched
               from docpal_private.record_cells(v_ctx.schema_name, v_spec, v_grants, v_ids) c),
         written as (
             select x.o, c.record, c.matched,
                    array(select k from pg_catalog.jsonb_object_keys(x.r) k where k <> 'id' and k <> all (v_filled)) as keys
               from pg_catalog.jsonb_array_elements(v_rows) with ordinality x(r, o)
               join cells c on c.id = v_ids[x.o])
    select (select w.o from written w
             where docpal_private.uncovered_column(v_perm->'grants', w.matched[1:v_n], w.keys) is not null
             order by w.o limit 1),
           pg_catalog.jsonb_agg(docpal_private.cell_image(coalesce(v_read->'grants', '[]'), w.matched[v_n + 1:], w.record)
                                order by w.o)
      into v_bad, v_result
      from written w;
    if v_bad is not null then
        select c.matched, c.id into v_bad_matched, v_bad_id
          from docpal_private.record_cells(v_ctx.schema_name, v_spec, v_perm->'grants', array[v_ids[v_bad]]) c;
        v_bad_columns := array(select k from pg_catalog.jsonb_object_keys(v_rows->(v_bad - 1)) k
                                where k <> 'id' and k <> all (v_filled));
        perform docpal_private.require_write_cells(create_records.slug, 'create', true, v_perm->'grants', v_bad_matched,
                                                   v_bad_columns, v_bad_id);
    end if;
    return v_result;
end
$$;
