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
declare
    v_user text;
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
        -- the user the context names, unverified: only roles that may write
        -- docpal tables directly get here without docpal's functions (which
        -- verify the context first), and those could write any user into
        -- updated_by anyway; checking the HMAC per row would cost more than
        -- the write. Null without a well-formed setting.
        v_user := pg_catalog.split_part(pg_catalog.current_setting('docpal.context', true), '|', 2);
        new.updated_by := case when v_user ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                               then v_user::uuid end;
    end if;
    return new;
end
$$;
