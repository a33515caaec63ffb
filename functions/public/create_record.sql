-- grant: docpal_service, docpal_app
create or replace function docpal.create_record(slug text, data jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Inserts one record and returns it as stored (absent keys take their
   defaults). Errors: 42P01 unknown table, 42703 unknown key, 22023 read-only
   column, 22P02/22007/22008 unconvertible value, 23502 required, 23505
   unique, 23503 relation target, 23514 rule (DETAIL {column, rule, value});
   a state column a workflow governs starts at its initial state (absent
   or null), any other value is 23514 (rule "workflow"). */
declare
    v_ctx record;
    v_spec jsonb;
    v_columns text[];
    v_many text[];
    v_result jsonb;
    v_targets text;
    v_values text;
    v_record text;
    v_state text;
    v_message text;
    v_detail text;
    v_constraint text;
    v_column text;
    v_filled text[] := '{}';
    v_data jsonb := create_record.data;
begin
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, create_record.slug);
    if v_spec ? 'workflows' and pg_catalog.jsonb_typeof(v_data) = 'object' then
        -- state columns start at their workflow's initial state (23514 for any other)
        select w.o_rows->0, w.o_filled into v_data, v_filled
          from docpal_private.workflow_rows(v_spec, pg_catalog.jsonb_build_array(v_data)) w;
    end if;
    select coalesce(pg_catalog.array_agg(k.key) filter (where not k.many), '{}'),
           coalesce(pg_catalog.array_agg(k.key) filter (where k.many), '{}')
      into v_columns, v_many
      from docpal_private.write_keys(v_spec, v_data, true) k;
    perform docpal_private.require_permission(v_ctx.schema_name, v_ctx.user_id, v_ctx.member_role, v_ctx.scopes,
                                              create_record.slug, 'create',
                                              case when pg_catalog.cardinality(v_filled) = 0 then v_columns || v_many
                                                   else array(select c from pg_catalog.unnest(v_columns || v_many) c
                                                               where c <> all (v_filled)) end);
    select l.o_targets, l.o_values into v_targets, v_values from docpal_private.insert_lists(v_columns) l;
    v_record := docpal_private.record_sql(v_ctx.schema_name, v_spec, '_t');
    begin
        execute pg_catalog.format(
            'insert into %I.%I as _t (%s) select %s from pg_catalog.jsonb_populate_record(null::%I.%I, $1) _r returning %s',
            v_ctx.schema_name, create_record.slug, v_targets, v_values, v_ctx.schema_name, create_record.slug, v_record)
           into v_result using v_data, v_ctx.user_id;
        if pg_catalog.cardinality(v_many) > 0 then
            perform docpal_private.write_links(v_ctx.schema_name, v_spec, c,
                        pg_catalog.jsonb_build_object(v_result->>'id', v_data->c))
               from pg_catalog.unnest(v_many) c;
            select v_result || pg_catalog.jsonb_object_agg(c, (
                       select coalesce(pg_catalog.jsonb_agg(d.v order by d.o), '[]')
                         from (select distinct on (v) v, o
                                 from pg_catalog.jsonb_array_elements(v_data->c) with ordinality x(v, o)
                                order by v, o) d))
              into v_result from pg_catalog.unnest(v_many) c;
        end if;
    exception
        when integrity_constraint_violation or data_exception then
            get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail,
                                    v_constraint = constraint_name, v_column = column_name;
            perform docpal_private.raise_write_error(v_ctx.schema_name, v_spec, pg_catalog.jsonb_build_array(v_data),
                                                     v_state, v_message, nullif(v_detail, ''), nullif(v_constraint, ''),
                                                     nullif(v_column, ''));
    end;
    -- the caller gets back only what they may read
    return v_result - docpal_private.hidden_columns(v_ctx.schema_name, v_ctx.user_id, v_ctx.member_role, v_ctx.scopes, v_spec);
end
$$;
