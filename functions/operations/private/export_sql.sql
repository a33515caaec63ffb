create or replace function docpal_private.export_sql(p_schema text, p_part text, p_table text, p_after jsonb,
                                                     p_limit integer, p_batch integer default null)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The query that reads a part of a company's export, in key order, as json
   (not jsonb: building jsonb costs twice as much, and the text is what the
   export writes). Without p_batch: one row per entry, its JSON in column r;
   the entries after p_after (null: from the first), at most p_limit (null:
   all): docpal_private.export_page's page. With p_batch (p_after and
   p_limit null): one row per batch of p_batch entries, the JSON array's
   text in column body and its length in n, every entry of the part; a recursive query whose
   every step reads the next batch after the last key (one index range
   scan), so the rows stream out as they are made: what `docpal tenants
   export` copies to the client. Parts and their keys: records of table
   p_table (id; each record is its row with the system columns and
   formulas, plus each relation_many column as the array of its target ids
   in order), files (id), tuples (the ReBAC tuple: its six text fields),
   workflow_log (id) and history (the audit log, id). The caller pins the
   settings that change how values print (export_page's SET clauses; the
   CLI sets them for its transaction). p_after and p_limit are written in
   as literals, identifiers come from the catalog. 22023 for an unknown
   part or a bad key; 42P01 for an unknown table. */
declare
    v_spec jsonb;
    v_columns text;        -- the entry's fields, over the part's table as t
    v_from text;           -- the part's table, as t
    v_order text;          -- its key, over t
    v_outer text;          -- its key, over the entry's row y
    v_last text;           -- the largest key of a batch of rows y (an aggregate)
    v_after text;          -- the condition "after the key $k" over t ($k: where the key goes)
    v_where text := '';
    v_head text;
    v_tail text;
    v_tuple constant text[] := array['object_type', 'object_id', 'relation', 'subject_type', 'subject_id', 'subject_relation'];
begin
    if p_after is not null and pg_catalog.jsonb_typeof(p_after) = 'null' then
        p_after := null;
    end if;
    if p_batch is not null and (p_after is not null or p_limit is not null or p_batch < 1) then
        raise exception using errcode = '22023', message = 'a query in batches reads a whole part';
    end if;
    if p_part in ('records', 'files') then
        if p_part = 'records' then
            v_spec := docpal_private.table_spec(p_schema, p_table);
            -- relation_many columns have no PostgreSQL column: no name is taken twice
            select 't.*' || coalesce(pg_catalog.string_agg(pg_catalog.format(
                       ', (select coalesce(pg_catalog.json_agg(j.target_id order by j.position), ''[]'')
                             from %I.%I j where j.source_id = t.id) as %I',
                       p_schema, c->'objects'->>'junction', c->>'name'), '' order by o), '')
              into v_columns
              from pg_catalog.jsonb_array_elements(v_spec->'columns') with ordinality x(c, o)
             where c->>'type' = 'relation_many';
            v_from := pg_catalog.format('%I.%I t', p_schema, p_table);
        else
            v_columns := 't.id, t.name, t.size, t.mime, t.sha256, t.storage_key, t.created_at, t.created_by';
            v_from := pg_catalog.format('%I._files t', p_schema);
        end if;
        if p_after is not null and (pg_catalog.jsonb_typeof(p_after) <> 'string'
                                    or p_after #>> '{}' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('after: a %s id is expected', case p_part when 'records' then 'record' else 'file' end);
        end if;
        v_order := 't.id';
        v_outer := 'y.id';
        v_last := '(pg_catalog.array_agg(y.id order by y.id))[pg_catalog.count(*)]';  -- no max(uuid)
        v_after := 't.id > $k';
        if p_after is not null then
            v_where := ' where ' || pg_catalog.replace(v_after, '$k', pg_catalog.format('(%L::uuid)', p_after #>> '{}'));
        end if;
    elsif p_part = 'tuples' then
        if p_after is not null and (pg_catalog.jsonb_typeof(p_after) <> 'array' or pg_catalog.jsonb_array_length(p_after) <> 6
                                    or exists (select from pg_catalog.jsonb_array_elements(p_after) a
                                                where pg_catalog.jsonb_typeof(a) <> 'string')) then
            raise exception using errcode = '22023', message = 'after: a tuple is an array of six strings';
        end if;
        if pg_catalog.to_regclass(pg_catalog.format('%I._tuples', p_schema)) is null then
            return case when p_batch is null then 'select null::json as r where false'
                        else 'select null::text as body, null::bigint as n where false' end;
        end if;
        v_columns := (select pg_catalog.string_agg('t.' || f, ', ' order by o) from pg_catalog.unnest(v_tuple) with ordinality u(f, o));
        v_from := pg_catalog.format('%I._tuples t', p_schema);
        v_order := v_columns;
        v_outer := pg_catalog.replace(v_columns, 't.', 'y.');
        -- text[] compares as the six text columns do (element by element, same collation)
        v_last := 'pg_catalog.max(array[' || v_outer || '])';
        v_after := '(' || v_columns || ') > ($k[1], $k[2], $k[3], $k[4], $k[5], $k[6])';
        if p_after is not null then
            v_where := ' where ' || pg_catalog.replace(v_after, '$k',
                pg_catalog.format('(%L::text[])', array(select pg_catalog.jsonb_array_elements_text(p_after))));
        end if;
    elsif p_part in ('workflow_log', 'history') then
        if p_after is not null and (pg_catalog.jsonb_typeof(p_after) <> 'number'
                                    or p_after #>> '{}' !~ '^[0-9]{1,18}$') then
            raise exception using errcode = '22023', message = 'after: an entry id (a whole number) is expected';
        end if;
        if p_part = 'workflow_log' then
            if pg_catalog.to_regclass(pg_catalog.format('%I._workflow_log', p_schema)) is null then
                return case when p_batch is null then 'select null::json as r where false'
                            else 'select null::text as body, null::bigint as n where false' end;
            end if;
            v_columns := 't.id, t.at, t."table", t.record_id, t.workflow, t.transition, t.from_state, t.to_state,
                          t.user_id, t.comment, t.kind';
            v_from := pg_catalog.format('%I._workflow_log t', p_schema);
        else
            v_columns := 't.id, t.at, t.txid, t.user_id, t.db_role, t."table", t.record_id, t.action, t.version,
                          t.old, t.new, t.changed, t.summary';
            v_from := pg_catalog.format('%I._audit_log t', p_schema);
        end if;
        v_order := 't.id';
        v_outer := 'y.id';
        v_last := 'pg_catalog.max(y.id)';
        v_after := 't.id > $k';
        if p_after is not null then
            v_where := ' where ' || pg_catalog.replace(v_after, '$k', pg_catalog.format('(%L::bigint)', p_after #>> '{}'));
        end if;
    else
        raise exception using errcode = '22023', message = pg_catalog.format('unknown export part %L', p_part),
            hint = 'Parts are definitions, records, files, tuples, workflow_log and history.';
    end if;
    if p_batch is null then
        return pg_catalog.format(
            'select pg_catalog.to_json(y) as r from (select %s from %s%s order by %s limit %s) y order by %s',
            v_columns, v_from, v_where, v_order, coalesce(p_limit::text, 'all'), v_outer);
    end if;
    -- a batch: the entries of y after the key (the condition between head and tail), in the
    -- order of y (an index range scan); the next batch starts after its largest key. The
    -- steps of the recursion stream out as they are made
    v_head := pg_catalog.format(
        'select pg_catalog.json_agg(pg_catalog.to_json(y))::text as body, pg_catalog.count(*) as n, %1$s as k
           from (select %2$s from %3$s',
        v_last, v_columns, v_from);
    v_tail := pg_catalog.format(' order by %s limit %s) y', v_order, p_batch);
    return pg_catalog.format(
        'with recursive p (body, n, k) as (
             %1$s
             union all
             select b.body, b.n, b.k from p cross join lateral (%2$s) b where p.n = %3$s)
         select p.body, p.n from p where p.n > 0',
        v_head || v_tail, v_head || ' where ' || pg_catalog.replace(v_after, '$k', 'p.k') || v_tail, p_batch);
end
$$;
