-- depends: 0009_distributable_globals
-- Scale-out on Citus (contract section 10; issue 14).
--
-- The ids of docpal_private.users in a table of their own, without foreign
-- keys (contract section 10; issue 14): the one global table besides the
-- secrets that code on a Citus worker reads (check_user_refs), so the one
-- that becomes a reference table. Making users itself a reference table
-- would turn every table with a foreign key to it, and every table linked
-- to those (companies and most of docpal_private), into Citus-managed
-- tables, with Citus' limits on every statement that touches them. Kept in
-- step by triggers on users (triggers/tenancy/user_ids_mirror.sql).
-- Idempotent: the install script replays every migration.
create table if not exists docpal_private.user_ids (
    id uuid primary key
);
comment on table docpal_private.user_ids is 'The ids of docpal_private.users (kept by its triggers); on Citus a reference table.';
insert into docpal_private.user_ids (id)
select u.id from docpal_private.users u
on conflict do nothing;

-- Events of a company that Citus holds carry ids from the company's clock
-- and no transaction id (sql/tenant/0008_clock.sql): a consumer has
-- consumed those up to done_id, as it has consumed the others in done_snap.
alter table docpal_private.event_consumers add column if not exists done_id bigint not null default 0;
