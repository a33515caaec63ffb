-- depends: 0013_report_schedule
-- The compiled-statement cache of query_table (issue 19): a spec compiled
-- once is served from here on the next call with the same key, without
-- running the compiler (docpal_private.q_cache_lookup, q_cache_store).
-- Direct-mapped and bounded: the slot is a hash of the key modulo 8192, and
-- a new entry replaces the slot's old one. Nothing a client writes steers
-- it: only docpal's functions read and write it (no grants), the full key
-- text is compared on a hit (no hash collision can serve another caller's
-- entry), and an entry is served only when the table specs it was compiled
-- from (their rows' versions in docpal_private.table_specs) and, for a
-- member, the read permissions it used are still the same. Unlogged:
-- derived data, lost in a crash without harm, no WAL, so a query that
-- stores an entry still commits without a WAL flush; never read on a
-- standby. No foreign key to companies: its check would lock the company
-- row, a WAL-logged write on every miss; an entry of a dropped company is
-- never served (its key names the schema) and its slot is reused. The two
-- sequences count hits and misses (docpal.query_cache_stats): a hit touches
-- one of them only.
-- Idempotent: the install script replays every migration.
create unlogged table if not exists docpal_private.query_cache (
    slot       integer primary key,
    key        text not null,
    company_id uuid not null,
    deps       text[] not null,
    versions   text not null,
    perms      jsonb,
    statement  text not null,
    params     jsonb not null
);
comment on table docpal_private.query_cache is
    'Compiled query_table statements by key (company, table, spec, caller, session settings); derived data, written by docpal only.';
comment on column docpal_private.query_cache.slot is 'docpal: hashtext(key) modulo 8192: a new entry replaces the slot''s old one.';
comment on column docpal_private.query_cache.key is 'docpal: what the compiled statement depends on besides deps and perms, in full.';
comment on column docpal_private.query_cache.company_id is 'docpal: the company the entry was compiled in.';
comment on column docpal_private.query_cache.deps is 'docpal: the slugs of the table specs the compiler read.';
comment on column docpal_private.query_cache.versions is 'docpal: slug:xmin of each of those specs in docpal_private.table_specs, stored when they held what was compiled; a hit needs the same.';
comment on column docpal_private.query_cache.perms is 'docpal: for a member, the read permission of each table the compiler used; a hit needs the same.';
comment on column docpal_private.query_cache.statement is 'docpal: the statement query_table runs (docpal_private.q_table_statement).';
comment on column docpal_private.query_cache.params is 'docpal: its parameter array, bound as $1.';
do $$
begin
    -- unlogged sequences (PostgreSQL 15): counting a read writes no WAL
    if pg_catalog.current_setting('server_version_num')::integer >= 150000 then
        execute 'create unlogged sequence if not exists docpal_private.query_cache_misses';
        execute 'create unlogged sequence if not exists docpal_private.query_cache_hits';
    else
        execute 'create sequence if not exists docpal_private.query_cache_misses';
        execute 'create sequence if not exists docpal_private.query_cache_hits';
    end if;
end
$$;
comment on sequence docpal_private.query_cache_misses is 'docpal: query_table cache misses since the server started (docpal.query_cache_stats).';
comment on sequence docpal_private.query_cache_hits is 'docpal: query_table cache hits since the server started (docpal.query_cache_stats).';
