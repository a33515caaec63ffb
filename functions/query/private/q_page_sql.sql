create or replace function docpal_private.q_page_sql(p_state jsonb, p_extra_where text default '',
                                                     p_carry_columns boolean default false)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The statement that reads one page of a compiled query as a JSON array, in
   sort order ($1 is the parameter array). The page is found first, as ids
   and sort keys only; the row JSON is built afterwards for those rows alone,
   so a sort no index serves does not build JSON for every row it sorts.
   p_extra_where is ANDed to the filters (query_kanban's lane, an embed's
   link to its parent: docpal_private.q_embed). The root row is
   p_state.alias (_t but in a child query).
   When the row JSON reads the root row only, the page carries that row to
   the JSON, as one whole-row value, or with p_carry_columns as its columns
   in a subquery named like the row: cheaper where many rows are sorted for
   a few kept (an embed's children), but only for a JSON that names its
   columns (a default row is to_jsonb of the whole row, q_embed, made from
   the carried row value directly). */
declare
    v_items jsonb := p_state->'order_items';
    v_keys text;
    v_order text;
    v_alias text := pg_catalog.quote_ident(coalesce(p_state->>'alias', '_t'));
    v_joined boolean := coalesce((p_state->>'select_joined')::boolean, true);
    v_carry boolean := p_carry_columns and not v_joined;
begin
    select pg_catalog.string_agg(pg_catalog.format('%s as _s%s', i->>'expr', o), ', ' order by o),
           pg_catalog.string_agg(pg_catalog.format('%s._s%s%s', case when v_carry then v_alias else '_k' end, o,
                                                   case when (i->>'desc')::boolean then ' desc' else '' end), ', ' order by o)
      into v_keys, v_order
      from pg_catalog.jsonb_array_elements(v_items) with ordinality x(i, o);
    if v_carry then
        return pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(%1$s order by %2$s), ''[]'')
               from (select %10$s.*, %3$s from %4$s where %5$s%6$s order by %7$s limit %8$s offset %9$s) %10$s',
            p_state->>'select', v_order, v_keys, docpal_private.q_from(p_state, false),
            p_state->>'where', p_extra_where, p_state->>'order',
            (p_state->>'limit')::integer, (p_state->>'offset')::bigint, v_alias);
    end if;
    if not v_joined and p_state->>'select' = pg_catalog.format('pg_catalog.to_jsonb(%s)', v_alias) then
        -- the default row JSON of the whole row: made from the carried row
        -- itself (expanding it into its columns first, as below, costs
        -- planning and a deforming of the row per column), by jsonb_agg of
        -- the row value: the same JSON as to_jsonb's, without building and
        -- reading back a jsonb value per row (~1.5 us a row)
        return pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(_k._row order by %1$s), ''[]'')
               from (select %8$s as _row, %2$s from %3$s where %4$s%5$s order by %6$s limit %7$s offset %9$s) _k',
            v_order, v_keys, docpal_private.q_from(p_state, false),
            p_state->>'where', p_extra_where, p_state->>'order',
            (p_state->>'limit')::integer, v_alias, (p_state->>'offset')::bigint);
    end if;
    if not v_joined then
        -- the row JSON needs only the table's own row: carry it through the page
        -- instead of looking each row up again
        return pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(%1$s order by %2$s), ''[]'')
               from (select %10$s as _row, %3$s from %4$s where %5$s%6$s order by %7$s limit %8$s offset %9$s) _k
               cross join lateral (select (_k._row).*) %10$s',
            p_state->>'select', v_order, v_keys, docpal_private.q_from(p_state, false),
            p_state->>'where', p_extra_where, p_state->>'order',
            (p_state->>'limit')::integer, (p_state->>'offset')::bigint, v_alias);
    end if;
    return pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(%1$s order by %2$s), ''[]'')
           from %4$s
           join (select %3$s from %4$s where %5$s%6$s order by %7$s limit %8$s offset %9$s) _k on _k._s%10$s = %11$s.id',
        p_state->>'select', v_order, v_keys, docpal_private.q_from(p_state, false),
        p_state->>'where', p_extra_where, p_state->>'order',
        (p_state->>'limit')::integer, (p_state->>'offset')::bigint, pg_catalog.jsonb_array_length(v_items), v_alias);
end
$$;
