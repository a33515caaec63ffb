-- docpal_private.user_ids mirrors the ids of docpal_private.users (migration
-- 0010): a table without foreign keys that Citus can copy to every node, so
-- that check_user_refs, which runs wherever a company's tables are, finds
-- the ids without the users table (names, emails) leaving the coordinator.
create or replace function docpal_private.user_ids_mirror()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* AFTER INSERT, DELETE or UPDATE OF id on users, per row (a statement trigger would read
   a transition table, which Citus cannot send on to a reference table):
   the same id in user_ids. */
begin
    if tg_op in ('DELETE', 'UPDATE') then
        delete from docpal_private.user_ids i where i.id = old.id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into docpal_private.user_ids (id) values (new.id) on conflict do nothing;
    end if;
    return null;
end
$$;

create or replace trigger user_ids_mirror
    after insert or delete or update of id on docpal_private.users
    for each row execute function docpal_private.user_ids_mirror();

-- ids of users made while the triggers did not exist yet (an upgrade from
-- before migration 0010 with create_user calls during it)
insert into docpal_private.user_ids (id)
select u.id from docpal_private.users u
 where not exists (select from docpal_private.user_ids i where i.id = u.id);
