create or replace function docpal_private.q_path(
    inout p_state jsonb, p_path text, p_for_filter boolean,
    out o_sql text, out o_kind text, out o_column jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Resolves a query path against the catalog: its SQL expression, its kind
   (the docpal type, 'json_path', or the system column's), and its column
   spec. A relation followed by more segments joins its target (LEFT JOIN,
   one per distinct relation path, recorded in p_state.joins and reused); a
   json column followed by keys becomes #> over them. 42703 for anything the
   catalog does not know. p_for_filter marks the joins a filter needs, which
   are the only ones a separate count(*) has to make. p_state.joined is set
   when the expression reads a joined table, not only the root row. For a
   member (p_state.who), every table on the path must be readable and the
   column in its allow-list (42501), and a column that only some of the
   member's read grants cover is read through a CASE on the others' row
   filters (docpal_private.q_mask), so every use of the path (columns,
   filters, sorts, groups, metrics, joins) sees null where the cell is not
   readable; p_state.unchecked lifts both for the permission's own row
   filter. */
declare
    v_segments text[] := pg_catalog.string_to_array(p_path, '.');
    v_alias text := '_t';
    v_table text := p_state->>'root';
    v_spec jsonb;
    v_prefix text := '';
    v_join text;
    v_key text;
    v_segment text;
    v_keys text;
    v_extra jsonb;
    v_cond text;
    v_cond_joined boolean;
    v_mask record;
    v_cell jsonb;
    i integer;
begin
    if p_path is null or p_path = '' or pg_catalog.cardinality(v_segments) > 20 then
        raise exception using errcode = '42703', message = pg_catalog.format('invalid path %L', p_path);
    end if;
    for i in 1 .. pg_catalog.cardinality(v_segments) loop
        v_segment := v_segments[i];
        v_spec := p_state->'specs'->v_table;
        if v_spec is null then
            v_spec := docpal_private.table_spec(p_state->>'schema', v_table);
            p_state := pg_catalog.jsonb_set(p_state, array['specs', v_table], v_spec);
        end if;
        -- a member reads only tables they may read, and only their readable columns
        if p_state ? 'who' and not coalesce((p_state->>'unchecked')::boolean, false) then
            if not p_state->'perms' ? v_table then
                p_state := docpal_private.q_table_perm(p_state, v_table);
            end if;
            if p_state->'perms'->v_table = 'false' then
                raise exception using errcode = '42501',
                    message = pg_catalog.format('path %L: permission denied: read on table %s', p_path, v_table);
            end if;
            if v_segment not in ('id', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by')
               and pg_catalog.jsonb_typeof(p_state->'perms'->v_table->'columns') = 'array'
               and not (p_state->'perms'->v_table->'columns' ? v_segment) then
                raise exception using errcode = '42501',
                    message = pg_catalog.format('path %L: permission denied: read of column %s of table %s', p_path, v_segment, v_table);
            end if;
        end if;
        if v_segment in ('id', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by') then
            if i < pg_catalog.cardinality(v_segments) then
                raise exception using errcode = '42703',
                    message = pg_catalog.format('path %L: %s is not a relation', p_path, v_segment);
            end if;
            o_sql := pg_catalog.format('%I.%I', v_alias, v_segment);
            o_kind := case v_segment when 'version' then 'integer' when 'id' then 'uuid'
                                     when 'created_at' then 'datetime' when 'updated_at' then 'datetime' else 'uuid' end;
            o_column := pg_catalog.jsonb_build_object('name', v_segment, 'type', o_kind);
            p_state := p_state || pg_catalog.jsonb_build_object('joined', v_alias <> '_t');
            return;
        end if;
        -- (an expression, not a query: this runs for every condition of a filter)
        o_column := pg_catalog.jsonb_path_query_first(v_spec->'columns', '$[*] ? (@.name == $n)',
                                                      pg_catalog.jsonb_build_object('n', v_segment));
        if o_column is null then
            raise exception using errcode = '42703',
                message = pg_catalog.format('path %L: table %L has no column %L', p_path, v_table, v_segment);
        end if;
        o_kind := o_column->>'type';
        o_column := o_column || pg_catalog.jsonb_build_object('_table', v_table);
        -- cell by cell: a column some read grants do not cover reads as null
        -- on the rows only those grants reach (null: no condition needed)
        v_cond := null;
        v_cond_joined := false;
        if p_state ? 'who' and not coalesce((p_state->>'unchecked')::boolean, false) then
            -- each cell's condition is worked out once per query (p_state.cells)
            v_cell := p_state->'cells'->(v_alias || '.' || v_segment);
            if v_cell is null then
                v_mask := docpal_private.q_mask(p_state, v_table, v_alias, v_segment);
                p_state := v_mask.p_state;
                v_cell := pg_catalog.jsonb_build_object('cond', v_mask.o_cond, 'joined', v_mask.o_joined);
                p_state := p_state || pg_catalog.jsonb_build_object('cells', coalesce(p_state->'cells', '{}'::jsonb)
                                                                             || pg_catalog.jsonb_build_object(v_alias || '.' || v_segment, v_cell));
            end if;
            v_cond := v_cell->>'cond';
            v_cond_joined := (v_cell->>'joined')::boolean;
        end if;
        if i = pg_catalog.cardinality(v_segments) then
            if o_kind = 'relation_many' then
                o_sql := pg_catalog.format(
                    '(select coalesce(pg_catalog.array_agg(_j.target_id order by _j.position), ''{}'') from %I.%I _j where _j.source_id = %I.id)',
                    p_state->>'schema', o_column->'objects'->>'junction', v_alias);
            else
                o_sql := pg_catalog.format('%I.%I', v_alias, v_segment);
            end if;
            if v_cond is not null then
                o_sql := pg_catalog.format('(case when %s then %s end)', v_cond, o_sql);
            end if;
            p_state := p_state || pg_catalog.jsonb_build_object('joined', v_alias <> '_t' or v_cond_joined);
            return;
        end if;
        if o_kind = 'json' then
            -- the remaining segments are keys inside the json value
            v_keys := (v_segments[i + 1:])::text;
            select q.p_state, q.o_ref into p_state, v_key from docpal_private.q_param(p_state, pg_catalog.to_jsonb(v_keys)) q;
            o_sql := pg_catalog.format('(%I.%I #> (%s #>> ''{}'')::text[])', v_alias, v_segment, v_key);
            if v_cond is not null then
                o_sql := pg_catalog.format('(case when %s then %s end)', v_cond, o_sql);
            end if;
            o_kind := 'json_path';
            p_state := p_state || pg_catalog.jsonb_build_object('joined', v_alias <> '_t' or v_cond_joined);
            return;
        end if;
        if o_kind <> 'relation' then
            raise exception using errcode = '42703',
                message = pg_catalog.format('path %L: %s is not a relation', p_path, v_segment);
        end if;
        -- a relation read under a condition joins only where it is readable:
        -- a join of its own (key marked ~), never shared with an unmasked one
        v_key := v_prefix || v_segment || case when v_cond is not null then '~' else '' end;
        v_join := p_state->'joins'->v_key->>'alias';
        if v_join is null then
            -- each relation path is a join: a bounded number per query (section 9)
            if (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(p_state->'joins')) >= 64 then
                raise exception using errcode = '54000',
                    message = pg_catalog.format('path %L: a query may follow at most 64 relation paths', p_path);
            end if;
            v_join := 'j' || (select pg_catalog.count(*) + 1 from pg_catalog.jsonb_object_keys(p_state->'joins'));
            p_state := pg_catalog.jsonb_set(p_state, array['joins', v_key], pg_catalog.jsonb_build_object(
                'alias', v_join, 'table', o_column->>'target', 'from', v_alias, 'column', v_segment,
                'parent', nullif(pg_catalog.rtrim(v_prefix, '.'), ''),
                'n', (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(p_state->'joins')),
                'filter', false));
            if p_state ? 'who' then
                -- a member sees a related row only inside their row filter of that table
                p_state := docpal_private.q_table_perm(p_state, o_column->>'target');
                v_extra := docpal_private.q_join_filter(p_state, o_column->>'target', v_join);
                if v_extra is not null then
                    p_state := pg_catalog.jsonb_set(p_state, '{params}', v_extra->'params');
                end if;
                if v_extra is not null or v_cond is not null then
                    p_state := pg_catalog.jsonb_set(p_state, array['joins', v_key, 'extra'], pg_catalog.to_jsonb(
                        pg_catalog.concat_ws(' and ', v_cond, v_extra->>'sql')));
                end if;
            end if;
        end if;
        if p_for_filter then
            p_state := pg_catalog.jsonb_set(p_state, array['joins', v_key, 'filter'], 'true');
        end if;
        v_alias := v_join;
        v_table := o_column->>'target';
        v_prefix := v_key || '.';
    end loop;
end
$$;
