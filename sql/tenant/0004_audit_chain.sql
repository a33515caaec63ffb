-- The audit layer: the log's slug column takes the contract's name ("table");
-- the hash chain lives beside the log in _audit_chain, written only by the
-- sealer, so the log itself is strictly append-only (its old, never used
-- hash column goes); the log is partitioned by month, and every existing
-- table gets its capture triggers (docpal_private.audit_setup).
alter table {{ schema }}._audit_log rename column table_slug to "table";

alter table {{ schema }}._audit_log drop column hash;

-- One row per sealed entry, in chain order: seal = position (1, 2, ...),
-- hash = sha256(previous hash || entry content).
create table {{ schema }}._audit_chain (
    seal     bigint primary key,
    entry_id bigint not null,
    hash     bytea not null,
    constraint _audit_chain_entry_key unique (entry_id)
);
comment on table {{ schema }}._audit_chain is 'docpal audit hash chain: one row per sealed _audit_log entry.';

-- Chain points outside the chain: every sealing run (its last link, its
-- snapshot and how far entries are settled) and, after retention, the
-- removed entries that kept entries chain to (anchors).
create table {{ schema }}._audit_seals (
    id       bigserial primary key,
    seal     bigint not null,
    entry_id bigint not null,
    hash     bytea not null,
    kind     text not null check (kind in ('run', 'anchor')),
    snap     pg_snapshot,
    id_mark  bigint,
    settled  bigint,
    at       timestamptz not null default pg_catalog.now()
);
comment on table {{ schema }}._audit_seals is 'docpal audit chain: sealing runs and retention anchors.';

create index on {{ schema }}._audit_seals (seal);

create trigger _audit_log_append_only
    before update or delete on {{ schema }}._audit_log
    for each row execute function docpal_private.audit_log_guard();

create trigger _audit_log_no_truncate
    before truncate on {{ schema }}._audit_log
    for each statement execute function docpal_private.audit_log_guard();

create trigger _audit_log_no_truncate
    before truncate on {{ schema }}._audit_log_default
    for each statement execute function docpal_private.audit_log_guard();

create trigger _audit_chain_append_only
    before update or delete on {{ schema }}._audit_chain
    for each row execute function docpal_private.audit_log_guard();

create trigger _audit_chain_no_truncate
    before truncate on {{ schema }}._audit_chain
    for each statement execute function docpal_private.audit_log_guard();

create trigger _audit_seals_append_only
    before update or delete on {{ schema }}._audit_seals
    for each row execute function docpal_private.audit_log_guard();

create trigger _audit_seals_no_truncate
    before truncate on {{ schema }}._audit_seals
    for each statement execute function docpal_private.audit_log_guard();

select docpal_private.audit_setup('{{ schema }}'::regnamespace);
