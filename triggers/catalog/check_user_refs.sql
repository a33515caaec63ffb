create or replace function docpal_private.check_user_refs()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* BEFORE INSERT OR UPDATE row trigger (_docpal_users) of a tenant table
   with columns that hold user ids: each one, when set, must name a user of
   docpal_private.users (read from its id mirror user_ids, which Citus
   copies to every node), or the write fails with 23503 (CONSTRAINT is the
   column's "fkey" object, so docpal_private.raise_write_error words it like
   a foreign key). TG_ARGV holds pairs: column, constraint name.

   Instead of a foreign key: a foreign key from a tenant table would put its
   RI triggers on the shared users table, so adding or dropping one locks
   that table for the rest of the tenant's transaction and freezes
   create_user, add_member and other companies. This reads the users table
   only (ACCESS SHARE). docpal never deletes users; a DBA who deletes one
   leaves its id in tenant rows (no ON DELETE action). */
declare
    v_new jsonb := pg_catalog.to_jsonb(new);
    v_old jsonb := case when tg_op = 'UPDATE' then pg_catalog.to_jsonb(old) end;
    v_column text;
    v_id text;
begin
    for i in 0 .. tg_nargs / 2 - 1 loop
        v_column := tg_argv[2 * i];
        v_id := v_new->>v_column;
        continue when v_id is null or v_id is not distinct from v_old->>v_column;
        if not exists (select from docpal_private.user_ids u where u.id = v_id::uuid) then
            raise exception using errcode = '23503',
                message = pg_catalog.format('%s.%s: the referenced user does not exist', tg_table_name, v_column),
                constraint = tg_argv[2 * i + 1], column = v_column, table = tg_table_name, schema = tg_table_schema;
        end if;
    end loop;
    return new;
end
$$;
