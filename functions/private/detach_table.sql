create or replace function docpal_private.detach_table(p_schema text, p_table text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Drops the update trigger before a column change (its WHEN clause names the
   columns, which blocks dropping or retyping them); refresh_table puts it
   back in the same transaction. */
begin
    execute pg_catalog.format('drop trigger if exists _docpal_stamp on %I.%I', p_schema, p_table);
end
$$;
