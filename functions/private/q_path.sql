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
   column in its allow-list (42501); p_state.unchecked lifts that for the
   permission's own row filter. */
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
            p_state := docpal_private.q_table_perm(p_state, v_table);
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
        select c into o_column from pg_catalog.jsonb_array_elements(v_spec->'columns') c where c->>'name' = v_segment;
        if o_column is null then
            raise exception using errcode = '42703',
                message = pg_catalog.format('path %L: table %L has no column %L', p_path, v_table, v_segment);
        end if;
        o_kind := o_column->>'type';
        o_column := o_column || pg_catalog.jsonb_build_object('_table', v_table);
        if i = pg_catalog.cardinality(v_segments) then
            if o_kind = 'relation_many' then
                o_sql := pg_catalog.format(
                    '(select coalesce(pg_catalog.array_agg(_j.target_id order by _j.position), ''{}'') from %I.%I _j where _j.source_id = %I.id)',
                    p_state->>'schema', o_column->'objects'->>'junction', v_alias);
            else
                o_sql := pg_catalog.format('%I.%I', v_alias, v_segment);
            end if;
            p_state := p_state || pg_catalog.jsonb_build_object('joined', v_alias <> '_t');
            return;
        end if;
        if o_kind = 'json' then
            -- the remaining segments are keys inside the json value
            v_keys := (v_segments[i + 1:])::text;
            select q.p_state, q.o_ref into p_state, v_key from docpal_private.q_param(p_state, pg_catalog.to_jsonb(v_keys)) q;
            o_sql := pg_catalog.format('(%I.%I #> (%s #>> ''{}'')::text[])', v_alias, v_segment, v_key);
            o_kind := 'json_path';
            p_state := p_state || pg_catalog.jsonb_build_object('joined', v_alias <> '_t');
            return;
        end if;
        if o_kind <> 'relation' then
            raise exception using errcode = '42703',
                message = pg_catalog.format('path %L: %s is not a relation', p_path, v_segment);
        end if;
        v_key := v_prefix || v_segment;
        v_join := p_state->'joins'->v_key->>'alias';
        if v_join is null then
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
                    p_state := pg_catalog.jsonb_set(p_state, array['joins', v_key, 'extra'], v_extra->'sql');
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
