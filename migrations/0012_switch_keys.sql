-- depends: 0011_table_specs
-- The key that signs docpal's internal switches in a table of its own
-- (issue 14): on Citus it is copied to every node, because triggers on the
-- workers check switches, while docpal_private.secrets, which also holds
-- the key that signs every client context, stays on the coordinator. A
-- worker then holds nothing that could forge a context. The row in secrets
-- stays (migration 0004 would put one back on replay) and is no longer read.
-- Idempotent: the install script replays every migration.
create table if not exists docpal_private.switch_keys (
    name  text primary key,
    value bytea not null
);
comment on table docpal_private.switch_keys is 'The key of docpal''s signed internal switches (docpal_private.switch); on Citus a reference table.';
insert into docpal_private.switch_keys (name, value)
select s.name, s.value from docpal_private.secrets s where s.name = 'switch_hmac'
on conflict (name) do nothing;
