create or replace function docpal_private.stamp_update()
    returns trigger
    language plpgsql
as $$
/* BEFORE UPDATE on every docpal table, fired only when a data column changed
   (the trigger's WHEN clause lists them): version + 1, updated_at, and
   updated_by from the context unless the statement set it. id, created_at
   and created_by never change. TG_ARGV[0] is the table slug (not
   TG_TABLE_NAME, which names the shard on a Citus worker).

   No SET search_path: a function with a SET clause runs through the GUC
   machinery on every call, i.e. on every row (the path set, restored and
   looked up afresh: ~5 % of a 100,000-row UPDATE of a table with this
   trigger alone, in a profile; the regular expression below was another
   10 %, its replacement 4 %). The search path decides nothing here
   instead: every type, function and operator is named with its schema
   (OPERATOR(pg_catalog.x)), IS [NOT] DISTINCT FROM (which looks up "=") is
   spelled with them, and the function is not SECURITY DEFINER (it runs with
   the rights of the writer, or inside docpal's functions, whose pinned path
   it inherits). */
declare
    v_user pg_catalog.text;
begin
    if new.id is null or new.id operator(pg_catalog.<>) old.id then
        raise exception using errcode = '22023',
            message = pg_catalog.format('the id of a record of table %L cannot change', tg_argv[0]);
    end if;
    new.version := old.version operator(pg_catalog.+) 1;
    new.updated_at := pg_catalog.now();
    new.created_at := old.created_at;
    new.created_by := old.created_by;
    -- updated_by not distinct from the old one (both null, or equal)
    if coalesce(new.updated_by operator(pg_catalog.=) old.updated_by,
                new.updated_by is null and old.updated_by is null) then
        -- the user the context names, unverified: only roles that may write
        -- docpal tables directly get here without docpal's functions (which
        -- verify the context first), and those could write any user into
        -- updated_by anyway; checking the HMAC per row would cost more than
        -- the write. Null without a well-formed setting.
        -- A well-formed id is 8-4-4-4-12 lowercase hex digits (what the regular
        -- expression ^[0-9a-f]{8}-...-[0-9a-f]{12}$ accepts): every hex digit
        -- made 0, exactly the string below (cheaper per row than the regular
        -- expression).
        v_user := pg_catalog.split_part(pg_catalog.current_setting('docpal.context', true), '|', 2);
        -- the user who wrote the row last, again (a bulk UPDATE by one user):
        -- nothing to change, and no per-character check (translate() is
        -- ~2.5 us a row; the canonical text of a uuid is well-formed)
        if v_user operator(pg_catalog.=) old.updated_by::pg_catalog.text then
            return new;
        end if;
        new.updated_by := case when pg_catalog.translate(v_user, '0123456789abcdef', '0000000000000000')
                                    operator(pg_catalog.=) '00000000-0000-0000-0000-000000000000'
                               then v_user::pg_catalog.uuid end;
    end if;
    return new;
end
$$;
