create or replace function docpal_private.q_cell_mask(
    inout p_state jsonb, p_table text, p_alias text, p_column text,
    out o_cond text, out o_joined boolean)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* For a member: the condition under which cell p_alias.p_column (of table
   p_table) is readable (null: always), worked out once per query by
   docpal_private.q_cell_condition and kept in p_state.cells, so that every
   use of the path (columns, filters, sorts, groups, metrics, joins) sees
   null where the member's grants do not cover the cell. */
declare
    v_cell jsonb := p_state->'cells'->(p_alias || '.' || p_column);
    v_r record;
begin
    if v_cell is null then
        v_r := docpal_private.q_cell_condition(p_state, p_table, p_alias, p_column);
        p_state := v_r.p_state;
        v_cell := pg_catalog.jsonb_build_object('cond', v_r.o_cond, 'joined', v_r.o_joined);
        p_state := p_state || pg_catalog.jsonb_build_object('cells', coalesce(p_state->'cells', '{}'::jsonb)
                                                                     || pg_catalog.jsonb_build_object(p_alias || '.' || p_column, v_cell));
    end if;
    o_cond := v_cell->>'cond';
    o_joined := (v_cell->>'joined')::boolean;
end
$$;
