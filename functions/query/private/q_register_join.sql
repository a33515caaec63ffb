create or replace function docpal_private.q_register_join(
    inout p_state jsonb, p_path text, p_prefix text, p_from text, p_column jsonb, p_cond text, p_for_filter boolean,
    out o_alias text, out o_key text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The join that follows relation p_column from row p_from, at relation path
   p_prefix || its name (o_key), recorded once in p_state.joins and reused:
   its alias (j1, j2, ...). A relation read under a cell condition p_cond
   joins only where it is readable: a join of its own (key marked ~), never
   shared with an unmasked one. For a member, the join carries their row
   filter of the related table (docpal_private.q_join_row_filter). With
   p_for_filter the join is marked as one a filter needs (q_from). 54000
   past 64 relation paths in a query (section 9). A child query (an embed,
   a _some filter, a child aggregate: docpal_private.q_child_state) names
   its joins after its own alias (p_state.jprefix), so that they never
   meet its parent's. A join to a user or a file (p_column.target_schema,
   docpal_private.q_system_field) has no grants of its own, and may read
   a subquery (p_column.target_sql) rather than the table itself. */
declare
    v_extra jsonb;
    v_count integer;
begin
    o_key := p_prefix || (p_column->>'name') || case when p_cond is not null then '~' else '' end;
    o_alias := p_state->'joins'->o_key->>'alias';
    if o_alias is null then
        v_count := (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(p_state->'joins'));
        -- counted over the whole statement: its child queries' joins too
        if coalesce((p_state->>'join_total')::integer, v_count) >= 64 then
            raise exception using errcode = '54000',
                message = pg_catalog.format('path %L: a query may follow at most 64 relation paths', p_path);
        end if;
        p_state := p_state || pg_catalog.jsonb_build_object('join_total', coalesce((p_state->>'join_total')::integer, v_count) + 1);
        o_alias := coalesce(p_state->>'jprefix', '') || 'j' || (v_count + 1);
        p_state := pg_catalog.jsonb_set(p_state, array['joins', o_key], pg_catalog.jsonb_build_object(
            'alias', o_alias, 'table', p_column->>'target', 'schema', p_column->'target_schema',
            'source', p_column->'target_sql',
            'from', p_from, 'column', p_column->>'name',
            'parent', nullif(pg_catalog.rtrim(p_prefix, '.'), ''),
            'n', v_count,
            'filter', false));
        if p_state ? 'who' and not p_column ? 'target_schema' then
            -- a member sees a related row only inside their row filter of that table
            p_state := docpal_private.q_table_permission(p_state, p_column->>'target');
            v_extra := docpal_private.q_join_row_filter(p_state, p_column->>'target', o_alias);
            if v_extra is not null then
                p_state := pg_catalog.jsonb_set(p_state, '{params}', v_extra->'params');
            end if;
        end if;
        if v_extra is not null or p_cond is not null then
            p_state := pg_catalog.jsonb_set(p_state, array['joins', o_key, 'extra'], pg_catalog.to_jsonb(
                pg_catalog.concat_ws(' and ', p_cond, v_extra->>'sql')));
        end if;
    end if;
    if p_for_filter then
        p_state := pg_catalog.jsonb_set(p_state, array['joins', o_key, 'filter'], 'true');
    end if;
end
$$;
