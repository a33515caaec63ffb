create or replace function docpal_private.q_search(
    inout p_state jsonb, p_slug text, p_spec jsonb, p_perm jsonb, p_alias text, p_search jsonb, out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The condition (' and ...', to append to the WHERE) of a query's search
   (spec key search, p_search) on table p_slug (spec p_spec, the caller's
   read permission p_perm, its row p_alias), its text bound as a parameter
   of p_state: full text over the searchable columns (their index). For a
   member (p_state.who): 42501 when a searchable column is not readable at
   all (the search would find by its content), and where one is readable on
   some rows only, a row matches by the words of its readable cells alone.
   22023 for a search that is not a string, or on a table without
   searchable columns. Apart from docpal_private.q_compile, which calls it,
   so that a backend compiles it only when it searches. */
declare
    v_search text;
    v_ref text;
    v_column jsonb;
    v_cond text;
    v_expr text;
    v_any_masked boolean := false;
    v_masked_search text[] := '{}';
begin
    if pg_catalog.jsonb_typeof(p_search) <> 'string' then
        raise exception using errcode = '22023', message = 'search must be a string';
    end if;
    -- the search index covers every searchable column: a member who may
    -- not read one of them may not search (it would find by its content)
    if p_state ? 'who' and exists (
           select from pg_catalog.jsonb_array_elements(p_spec->'columns') c
            where (c->>'searchable')::boolean and c->>'name' = any (docpal_private.unreadable_columns(p_spec, p_perm))) then
        raise exception using errcode = '42501',
            message = pg_catalog.format('permission denied: search of table %s covers columns you may not read', p_slug);
    end if;
    v_search := docpal_private.search_sql(p_spec, p_alias);
    if v_search is null then
        raise exception using errcode = '22023', message = pg_catalog.format('table %L has no searchable columns', p_slug);
    end if;
    select q.p_state, q.o_ref into p_state, v_ref from docpal_private.q_param(p_state, p_search) q;
    o_sql := pg_catalog.format(' and %s @@ pg_catalog.plainto_tsquery(''simple''::regconfig, %s #>> ''{}'')',
                               v_search, v_ref);
    -- a searchable column readable on some rows only: a row matches by
    -- the words of its readable cells alone. The index finds the
    -- candidates (the masked words are a subset of the indexed ones),
    -- the masked document decides.
    if p_state ? 'who' then
        for v_column in select c from pg_catalog.jsonb_array_elements(p_spec->'columns') with ordinality x(c, o)
                         where (c->>'searchable')::boolean order by o loop
            select m.p_state, m.o_cond into p_state, v_cond
              from docpal_private.q_cell_condition(p_state, p_slug, p_alias, v_column->>'name') m;
            v_any_masked := v_any_masked or v_cond is not null;
            v_expr := pg_catalog.format('%I.%I', p_alias, v_column->>'name');
            v_expr := pg_catalog.format(case v_column->>'type'
                          when 'multi_select' then 'coalesce(docpal_private.join_words(%s), '''')'
                          when 'json' then 'coalesce((%s)::text, '''')'
                          else 'coalesce(%s, '''')' end,
                          case when v_cond is null then v_expr
                               else pg_catalog.format('(case when %s then %s end)', v_cond, v_expr) end);
            v_masked_search[pg_catalog.cardinality(v_masked_search) + 1] := v_expr;
        end loop;
        if v_any_masked then
            o_sql := o_sql || pg_catalog.format(
                ' and pg_catalog.to_tsvector(''simple''::regconfig, %s) @@ pg_catalog.plainto_tsquery(''simple''::regconfig, %s #>> ''{}'')',
                pg_catalog.array_to_string(v_masked_search, ' || '' '' || '), v_ref);
        end if;
    end if;
end
$$;
