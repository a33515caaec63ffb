create or replace function docpal_private.unlink_users(p_schema regnamespace)
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Upgrade of a company schema made before issue 12: its foreign keys to the
   shared users table (user columns, _role_members, _group_members) go, and
   each table with user columns gets its _docpal_users trigger instead
   (docpal_private.check_user_refs). Those foreign keys put their RI triggers
   on docpal_private.users, so any tenant DDL touching one locked the shared
   table for the rest of the tenant's transaction. Idempotent; returns the
   number of foreign keys dropped. */
declare
    v_fkey record;
    v_spec jsonb;
    v_count integer := 0;
begin
    for v_fkey in
        select c.conrelid::regclass as tbl, c.conname
          from pg_catalog.pg_constraint c
         where c.contype = 'f' and c.connamespace = p_schema
           and c.confrelid = 'docpal_private.users'::regclass
         order by c.oid
    loop
        execute pg_catalog.format('alter table %s drop constraint %I', v_fkey.tbl, v_fkey.conname);
        v_count := v_count + 1;
    end loop;
    for v_spec in execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = $1', p_schema::text)
        using 'table'
    loop
        if pg_catalog.cardinality(docpal_private.user_refs(v_spec)) > 0 then
            perform docpal_private.user_refs_trigger(p_schema::text, v_spec->>'slug', docpal_private.user_refs(v_spec));
        end if;
    end loop;
    if pg_catalog.to_regclass(pg_catalog.format('%I._role_members', p_schema::text)) is not null then
        perform docpal_private.user_refs_trigger(p_schema::text, '_role_members', array['user_id', '_role_members_user_id_fkey']);
        perform docpal_private.user_refs_trigger(p_schema::text, '_group_members', array['user_id', '_group_members_user_id_fkey']);
    end if;
    return v_count;
end
$$;
