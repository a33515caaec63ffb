create or replace function docpal_private.record_cells(
    p_schema text, p_spec jsonb, p_grants jsonb, p_ids uuid[], p_lock boolean default false)
    returns table (id uuid, record jsonb, matched boolean[])
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The records p_ids of a table as they are now (shaped like get_record,
   unmasked) with, for each, which grants of p_grants cover its row
   (docpal_private.grant_conditions): one statement for any number of ids
   and grants. Ids that do not exist are absent. With p_lock the rows are
   locked FOR UPDATE (the table's row only, not the joined ones). */
declare
    v_state jsonb;
    v_matched text;
    v_lock text := '';
    v_record text := docpal_private.record_sql(p_schema, p_spec, '_t');  -- SQL built from the catalog's spec
begin
    if p_lock then
        v_lock := ' for update of _t';
    end if;
    select g.o_state, g.o_sql into v_state, v_matched from docpal_private.grant_conditions(p_schema, p_spec, p_grants) g;
    return query execute pg_catalog.format(
        'select _t.id, %s, %s from %s where _t.id = any ($2)%s',
        v_record, v_matched, docpal_private.q_from(v_state, false), v_lock)
      using v_state->'params', p_ids;
end
$$;
