create or replace function docpal_private.system_columns()
    returns text[]
    language sql immutable parallel safe
    set search_path = pg_catalog, pg_temp
as $$
/* The columns every docpal table has and no client writes, in table order:
   id, version, created_at, updated_at, created_by, updated_by (create_table
   makes them). The one list of them; a column spec may not take these names. */
select array['id', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by']::text[]
$$;
