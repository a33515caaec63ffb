-- depends: 0003_events
-- Authenticating is a read on the hot path (issue 12). Idempotent: the
-- install script replays every migration.

-- Rate-limit counters: UNLOGGED (a count per call must not be a durable,
-- WAL-logged write; a crash resetting the current minute's counts is
-- harmless) and one row per key, minute and backend, so that concurrent
-- requests of one key never wait on each other's counter row (a backend runs
-- one transaction at a time). No foreign key: its check would lock the key
-- row, and old minutes are pruned by authenticate itself. The logged table
-- of 0002 held only the current minute, so it is replaced, not copied.
do $$
begin
    if exists (select from pg_catalog.pg_class c
                where c.oid = pg_catalog.to_regclass('docpal_private.api_key_usage')
                  and (c.relpersistence <> 'u'
                       or not exists (select from pg_catalog.pg_attribute a
                                       where a.attrelid = c.oid and a.attname = 'backend' and not a.attisdropped))) then
        drop table docpal_private.api_key_usage;
    end if;
end
$$;
create unlogged table if not exists docpal_private.api_key_usage (
    key_id   uuid not null,
    minute   timestamptz not null,
    backend  integer not null,
    requests integer not null,
    primary key (key_id, minute, backend)
);
comment on table docpal_private.api_key_usage is
    'Requests per API key, minute and backend pid for rate limits; unlogged, old minutes pruned by authenticate.';

-- When each key was last used, at most once a minute, in a table of its own:
-- the row lock that update holds to the end of the client's transaction must
-- not be on the api_keys row, or a client that keeps its transaction open
-- would make revoke_api_key wait on it. create_api_key makes the row, so
-- authenticate only ever updates it (an insert would check the foreign key
-- by locking the key row).
create table if not exists docpal_private.api_key_use (
    key_id       uuid primary key references docpal_private.api_keys (id) on delete cascade,
    last_used_at timestamptz
);
comment on table docpal_private.api_key_use is
    'When each API key was last used (lags by up to a minute); one row per key, made with it.';
do $$
begin
    if exists (select from pg_catalog.pg_attribute a
                where a.attrelid = 'docpal_private.api_keys'::regclass and a.attname = 'last_used_at'
                  and not a.attisdropped) then
        insert into docpal_private.api_key_use (key_id, last_used_at)
        select k.id, k.last_used_at from docpal_private.api_keys k
        on conflict (key_id) do nothing;
        alter table docpal_private.api_keys drop column last_used_at;
    end if;
end
$$;
insert into docpal_private.api_key_use (key_id)
select k.id from docpal_private.api_keys k
on conflict (key_id) do nothing;

-- Failed attempts now go to the server log (RAISE LOG in
-- record_auth_failure), in the failing transaction, without a connection of
-- their own; successful ones are not recorded. auth_attempts keeps what
-- earlier versions wrote and is no longer written.
comment on table docpal_private.auth_attempts is
    'Authentication attempts recorded by docpal before 0006; failures now go to the server log.';

-- dblink is no longer used: drop it where 0002 put it (never one a DBA
-- installed elsewhere). The schema docpal_ext stays, empty and closed to
-- every role but its owner, as 0002 left it.
do $$
begin
    if exists (select from pg_catalog.pg_extension e
                 join pg_catalog.pg_namespace n on n.oid = e.extnamespace
                where e.extname = 'dblink' and n.nspname = 'docpal_ext') then
        drop extension dblink;
    end if;
end
$$;
