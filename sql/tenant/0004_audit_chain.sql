-- The audit layer: the log's slug column takes the contract's name ("table"),
-- entries get a chain position (seal) set once by the sealer, the log is
-- append-only, partitioned by month, and every existing table gets its
-- capture triggers (docpal_private.audit_setup).
alter table {{ schema }}._audit_log rename column table_slug to "table";

alter table {{ schema }}._audit_log add column seal bigint;

-- the sealer finds the chain head and the unsealed tail by these
create index on {{ schema }}._audit_log (seal) where seal is not null;

create index on {{ schema }}._audit_log (id) where seal is null;

-- Known chain points outside the log: the last entry of every sealing run
-- (so a cut-off tail is noticed) and, after retention, the dropped entries
-- that kept entries chain to.
create table {{ schema }}._audit_seals (
    seal     bigint primary key,
    entry_id bigint not null,
    hash     bytea not null,
    kind     text not null check (kind in ('run', 'anchor')),
    at       timestamptz not null default pg_catalog.now()
);
comment on table {{ schema }}._audit_seals is 'docpal audit chain: sealing runs and retention anchors.';

create trigger _audit_log_append_only
    before update or delete on {{ schema }}._audit_log
    for each row execute function docpal_private.audit_log_guard();

create trigger _audit_log_no_truncate
    before truncate on {{ schema }}._audit_log
    for each statement execute function docpal_private.audit_log_guard();

create trigger _audit_log_no_truncate
    before truncate on {{ schema }}._audit_log_default
    for each statement execute function docpal_private.audit_log_guard();

select docpal_private.audit_setup('{{ schema }}'::regnamespace);
