create or replace function docpal_private.user_refs_trigger(p_schema text, p_table text, p_refs text[])
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Makes the _docpal_users trigger of p_schema.p_table check the user
   columns p_refs (pairs: column, constraint name; see
   docpal_private.check_user_refs), or drops it when there are none. UPDATE
   OF the columns: an update that does not set one costs nothing. The
   trigger names its columns, which blocks dropping or retyping them:
   detach_table drops it before a column change and refresh_table puts it
   back. Locks the tenant table only, never the shared users table. */
declare
    v_columns text[] := array(select r from pg_catalog.unnest(p_refs) with ordinality u(r, o) where u.o % 2 = 1);
    -- every name quoted here: %I for the columns, %L for the arguments
    v_column_list text := (select pg_catalog.string_agg(pg_catalog.format('%I', c), ', ') from pg_catalog.unnest(v_columns) c);
    v_arguments text := (select pg_catalog.string_agg(pg_catalog.format('%L', r), ', ') from pg_catalog.unnest(p_refs) r);
begin
    if pg_catalog.cardinality(v_columns) = 0 then
        execute pg_catalog.format('drop trigger if exists _docpal_users on %I.%I', p_schema, p_table);
        return;
    end if;
    execute pg_catalog.format(
        'create or replace trigger _docpal_users before insert or update of %s on %I.%I
         for each row execute function docpal_private.check_user_refs(%s)',
        v_column_list, p_schema, p_table, v_arguments);
end
$$;
