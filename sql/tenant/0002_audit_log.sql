-- The audit log: append-only, partitioned by time (monthly partitions and the
-- hash chain come with the audit layer); the default partition takes all rows
-- until then.
create table {{ schema }}._audit_log (
    id         bigserial,
    at         timestamptz not null default pg_catalog.now(),
    txid       xid8 not null default pg_catalog.pg_current_xact_id(),
    user_id    uuid,
    db_role    text not null default session_user,
    table_slug text not null,
    record_id  uuid,
    action     text not null,
    version    integer,
    old        jsonb,
    new        jsonb,
    changed    text[],
    summary    text,
    hash       bytea,
    primary key (id, at),
    constraint _audit_log_action_known check (action in ('INSERT', 'UPDATE', 'DELETE', 'ROLLBACK', 'RESTORE'))
) partition by range (at);
comment on table {{ schema }}._audit_log is 'docpal audit log: every change to this company''s data.';

create table {{ schema }}._audit_log_default partition of {{ schema }}._audit_log default;

create index on {{ schema }}._audit_log (table_slug, record_id, id);
