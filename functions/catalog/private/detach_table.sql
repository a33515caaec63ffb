create or replace function docpal_private.detach_table(p_schema text, p_table text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Drops the update trigger and the user-column trigger before a column
   change (their WHEN clause and UPDATE OF list name the columns, which
   blocks dropping or retyping them); refresh_table puts them back in the
   same transaction. */
begin
    execute pg_catalog.format('drop trigger if exists _docpal_stamp on %I.%I', p_schema, p_table);
    execute pg_catalog.format('drop trigger if exists _docpal_users on %I.%I', p_schema, p_table);
end
$$;
