create or replace function docpal_private.stamp_update()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* BEFORE UPDATE on every docpal table, fired only when a data column changed
   (the trigger's WHEN clause lists them): version + 1, updated_at, and
   updated_by from the context unless the statement set it. id, created_at
   and created_by never change. TG_ARGV[0] is the table slug (not
   TG_TABLE_NAME, which names the shard on a Citus worker). */
begin
    if new.id is distinct from old.id then
        raise exception using errcode = '22023',
            message = pg_catalog.format('the id of a record of table %L cannot change', tg_argv[0]);
    end if;
    new.version := old.version + 1;
    new.updated_at := pg_catalog.now();
    new.created_at := old.created_at;
    new.created_by := old.created_by;
    if new.updated_by is not distinct from old.updated_by then
        new.updated_by := docpal_private.context_user();
    end if;
    return new;
end
$$;
