create or replace function docpal_private.q_cell_condition(
    inout p_state jsonb, p_table text, p_alias text, p_column text,
    out o_cond text, out o_joined boolean)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Grants combine cell by cell (contract section 6): for a member
   (p_state.who), the condition under which column p_column of the row
   p_alias of table p_table is readable: the OR of the row filters of the
   read grants that cover the column. Null when no condition is needed (not
   a member, a covering grant without a row filter, or every grant covers
   the column: the row predicate, or the join's filter, already is their
   OR); 'false' when no grant covers it. Each grant's filter is compiled once
   per row alias and kept in p_state.masks; o_joined says the condition
   reads a joined table (a relation path in the filter, or a joined row). */
declare
    v_perm jsonb := p_state->'perms'->p_table;
    v_grants jsonb;
    v_cover integer[];
    v_key text;
    v_entry jsonb;
    v_conds text[] := '{}';
    v_joins integer;
    v_sql text;
    v_extra jsonb;
    i integer;
begin
    o_joined := false;
    if not p_state ? 'who' or coalesce((p_state->>'unchecked')::boolean, false)
       or v_perm is null or pg_catalog.jsonb_typeof(v_perm) <> 'object' then
        return;
    end if;
    v_grants := coalesce(v_perm->'grants', pg_catalog.jsonb_build_array(
        pg_catalog.jsonb_build_object('columns', v_perm->'columns', 'row_filter', v_perm->'row_filter')));
    select pg_catalog.array_agg((o - 1)::integer order by o) into v_cover
      from pg_catalog.jsonb_array_elements(v_grants) with ordinality g(g, o)
     where pg_catalog.jsonb_typeof(g->'columns') is distinct from 'array' or g->'columns' ? p_column;
    if v_cover is null then
        o_cond := 'false';
        return;
    end if;
    if pg_catalog.cardinality(v_cover) = pg_catalog.jsonb_array_length(v_grants)
       or exists (select from pg_catalog.unnest(v_cover) c
                   where pg_catalog.jsonb_typeof(v_grants->c->'row_filter') is distinct from 'object') then
        return;
    end if;
    foreach i in array v_cover loop
        v_key := p_alias || ':' || i;
        v_entry := p_state->'masks'->v_key;
        if v_entry is null then
            if p_alias = coalesce(p_state->>'alias', '_t') then
                -- the root row: the filter joins into the query itself
                v_joins := (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(p_state->'joins'));
                select f.p_state, f.o_sql into p_state, v_sql
                  from docpal_private.q_filter(p_state || '{"unchecked": true}', v_grants->i->'row_filter') f;
                p_state := p_state - 'unchecked';
                v_entry := pg_catalog.jsonb_build_object('sql', v_sql, 'joined',
                    (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(p_state->'joins')) > v_joins);
            else
                v_extra := docpal_private.q_row_filter_of_alias(p_state, p_table, p_alias, v_grants->i->'row_filter');
                p_state := pg_catalog.jsonb_set(p_state, '{params}', v_extra->'params');
                v_entry := pg_catalog.jsonb_build_object('sql', v_extra->>'sql', 'joined', true);
            end if;
            p_state := p_state || pg_catalog.jsonb_build_object(
                'masks', coalesce(p_state->'masks', '{}'::jsonb) || pg_catalog.jsonb_build_object(v_key, v_entry));
        end if;
        v_conds[pg_catalog.cardinality(v_conds) + 1] := '(' || (v_entry->>'sql') || ')';
        o_joined := o_joined or (v_entry->>'joined')::boolean;
    end loop;
    o_cond := '(' || pg_catalog.array_to_string(v_conds, ' or ') || ')';
end
$$;
