create or replace function docpal_private.check_targets(p_schema text, p_table text, p_columns jsonb)
    returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* 42P01 when a relation or relation_many column of p_columns targets a
   table that does not exist (p_table itself, the table being created or
   changed, always does). */
declare
    v_target text;
begin
    for v_target in
        select c->>'target' from pg_catalog.jsonb_array_elements(p_columns) c
         where c->>'type' in ('relation', 'relation_many') and c->>'target' <> p_table
    loop
        perform docpal_private.table_spec(p_schema, v_target);
    end loop;
end
$$;
