create or replace function docpal_private.q_path(
    inout p_state jsonb, p_path text, p_for_filter boolean,
    out o_sql text, out o_kind text, out o_column jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Resolves a query path (column, relation.column to any depth, or
   json_column.key.key) into its SQL expression, its kind (the docpal type,
   'json_path', or the system column's) and its column spec, segment by
   segment, each step done by a function of its own:
     validate     docpal_private.q_resolve_column   (42703 for anything the catalog does not know)
     permissions  docpal_private.q_check_readable   (a member: table and column readable, 42501)
                  docpal_private.q_cell_mask        (a member: the cell's condition, null where unreadable)
     expression   docpal_private.q_column_sql       (column, relation_many array, json keys)
     joins        docpal_private.q_register_join    (LEFT JOIN per distinct relation path, reused)
   A user column (and created_by, updated_by) leads to the user, a file
   column to the file: one more segment names a field of theirs
   (docpal_private.q_system_field). A function of a path, year(day) or
   count(students), is docpal_private.q_function_path's. A list of records
   (a reverse relation or a relation_many column) cannot be followed by a
   plain path: it is embedded, filtered with _some/_none/_every or counted
   (42703 says so; docpal_private.q_to_many knows them).
   p_for_filter marks the joins a filter needs, which are the only ones a
   separate count(*) has to make. p_state.joined is set when the expression
   reads a joined table, not only the root row. p_state.unchecked (a
   permission's own row filter) lifts the member's checks and masks.
   The root row's alias is p_state.alias (_t unless this is a child query). */
declare
    v_segments text[] := pg_catalog.string_to_array(p_path, '.');
    v_last integer := pg_catalog.cardinality(v_segments);
    v_alias text := coalesce(p_state->>'alias', '_t');
    v_many jsonb;
    v_table text := p_state->>'root';
    v_spec jsonb;
    v_prefix text := '';
    v_segment text;
    v_keys text;
    v_cond text;
    v_cond_joined boolean;
    v_member boolean := p_state ? 'who' and not coalesce((p_state->>'unchecked')::boolean, false);
    v_r record;  -- a helper's result: plain assignments, not a query per call
    i integer;
begin
    if p_path is null or p_path = '' or v_last > 20 then
        raise exception using errcode = '42703', message = pg_catalog.format('invalid path %L', p_path);
    end if;
    if pg_catalog.strpos(p_path, '(') > 0 then
        v_r := docpal_private.q_function_path(p_state, p_path, p_for_filter);
        p_state := v_r.p_state;
        o_sql := v_r.o_sql;
        o_kind := v_r.o_kind;
        o_column := v_r.o_column;
        return;
    end if;
    for i in 1 .. v_last loop
        v_segment := v_segments[i];
        v_spec := p_state->'specs'->v_table;
        if v_spec is null then
            v_spec := docpal_private.table_spec(p_state->>'schema', v_table);
            p_state := pg_catalog.jsonb_set(p_state, array['specs', v_table], v_spec);
        end if;
        if pg_catalog.strpos(v_segment, '!') > 0
           or v_segment not in ('id', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by')
              and not v_spec->'columns' @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('name', v_segment)) then
            -- not a column of the table: a list of records gets its own message
            v_r := docpal_private.q_to_many(p_state, p_path, v_table, v_segment);
            p_state := v_r.p_state;
            v_many := v_r.o_many;
        end if;
        if v_member and v_many is null then
            p_state := docpal_private.q_check_readable(p_state, p_path, v_table, v_segment);
        end if;
        o_column := case when v_many is null
                         then docpal_private.q_resolve_column(v_spec, p_path, v_table, v_segment, i = v_last) end;
        if v_many is not null or o_column->>'type' = 'relation_many' and i < v_last then
            -- (42703 as before lists were paths: no plain path goes through one)
            raise exception using errcode = '42703', message = pg_catalog.format(
                'path %L: %s is a list of records: embed it ({"%s": {"columns": [...]}}), filter by it with _some, _none or _every, or count it (count(%s))',
                p_path, v_segment, v_segment, v_segment);
        end if;
        o_kind := o_column->>'type';
        v_cond := null;
        v_cond_joined := false;
        if v_member and o_column ? '_table' then
            v_r := docpal_private.q_cell_mask(p_state, v_table, v_alias, v_segment);
            p_state := v_r.p_state;
            v_cond := v_r.o_cond;
            v_cond_joined := v_r.o_joined;
        end if;
        if i < v_last and (o_kind in ('user', 'file') or v_segment in ('created_by', 'updated_by')) then
            v_r := docpal_private.q_system_field(p_state, p_path, v_prefix, v_alias, o_column, v_cond, v_segments[i + 1],
                                                 i + 1 = v_last, p_for_filter);
            p_state := v_r.p_state;
            o_sql := v_r.o_sql;
            o_kind := v_r.o_kind;
            o_column := v_r.o_column;
            return;
        end if;
        if i = v_last or o_kind = 'json' or not o_column ? '_table' then
            if i < v_last then
                -- the remaining segments are keys inside the json value
                v_keys := (v_segments[i + 1:])::text;
                v_r := docpal_private.q_param(p_state, pg_catalog.to_jsonb(v_keys));
                p_state := v_r.p_state;
                v_keys := v_r.o_ref;
                o_kind := 'json_path';
            end if;
            o_sql := docpal_private.q_column_sql(p_state->>'schema', v_alias, v_segment, o_column, v_cond, v_keys);
            p_state := p_state || pg_catalog.jsonb_build_object('joined', v_alias <> coalesce(p_state->>'alias', '_t') or v_cond_joined);
            return;
        end if;
        if o_kind <> 'relation' then
            raise exception using errcode = '42703',
                message = pg_catalog.format('path %L: %s is not a relation', p_path, v_segment);
        end if;
        v_r := docpal_private.q_register_join(p_state, p_path, v_prefix, v_alias, o_column, v_cond, p_for_filter);
        p_state := v_r.p_state;
        v_alias := v_r.o_alias;
        v_prefix := v_r.o_key || '.';
        v_table := o_column->>'target';
    end loop;
end
$$;
