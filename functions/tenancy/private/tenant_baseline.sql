create or replace function docpal_private.tenant_baseline(out version integer, out statements text[])
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The base template up to step `version` (sql/tenant/0001 ... 0012) in one
   step, for a company made now (docpal_private.apply_tenant_steps applies
   it to an empty schema, then the steps after it): the objects those steps
   leave, made in their final shape, without the statements that only
   upgrade an older schema (renames, the dropped column, ALTER ... ADD COLUMN,
   audit_setup, unlink_users, the copies into company_modules and
   table_specs), which cost time that grows with the number of companies
   (unlink_users scans pg_constraint; ALTER TABLE ... ADD COLUMN NOT NULL
   too). Nor does it make the audit log's default partition, which
   step 0013 takes away from a company without tables: a company gets it
   with its first table (docpal_private.audit_default_partition), because
   creating a partition reads all of pg_constraint. Statements for format(statement, schema_name), as tenant_steps
   holds them. A company made from it has the same tables, columns,
   constraints, indexes, triggers, comments and rows as one built by
   replaying the steps (tests/test_tenants_baseline.py compares them), so
   every company has one upgrade path: the steps after `version`.
   Never changed for a shipped step: a later squash is a new version. */
select 12, array[
$s$create table %1$I._catalog (
    kind       text not null,
    slug       text not null,
    spec       jsonb not null default '{}',
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now(),
    primary key (kind, slug)
)$s$,
$s$comment on table %1$I._catalog is 'docpal catalog: one row per runtime-defined object (kind table, type_list, ...) with its definition.'$s$,
$s$create table %1$I._schema_history (
    id         bigserial primary key,
    at         timestamptz not null default pg_catalog.now(),
    user_id    uuid,
    table_slug text not null,
    change     text not null,
    before     jsonb,
    after      jsonb
)$s$,
$s$comment on table %1$I._schema_history is 'docpal catalog: every schema change, oldest first.'$s$,
$s$create table %1$I._audit_log (
    id         bigserial,
    at         timestamptz not null default pg_catalog.now(),
    txid       xid8 default pg_catalog.pg_current_xact_id(),
    user_id    uuid,
    db_role    text not null default session_user,
    "table"    text not null,
    record_id  uuid,
    action     text not null,
    version    integer,
    old        jsonb,
    new        jsonb,
    changed    text[],
    summary    text,
    primary key (id, at),
    constraint _audit_log_action_known check (action in ('INSERT', 'UPDATE', 'DELETE', 'ROLLBACK', 'RESTORE'))
) partition by range (at)$s$,
$s$comment on table %1$I._audit_log is 'docpal audit log: every change to this company''s data.'$s$,
$s$create index _audit_log_table_slug_record_id_id_idx on %1$I._audit_log ("table", record_id, id)$s$,
$s$create table %1$I._files (
    id          uuid primary key default pg_catalog.gen_random_uuid(),
    name        text not null,
    size        bigint not null,
    mime        text not null,
    sha256      text not null,
    storage_key text not null,
    created_at  timestamptz not null default pg_catalog.now(),
    created_by  uuid,
    constraint _files_sha256_key unique (sha256),
    constraint _files_sha256_format check (sha256 ~ '^[0-9a-f]{64}$'),
    constraint _files_size_positive check (size >= 0)
)$s$,
$s$comment on table %1$I._files is 'docpal files: metadata of stored files, one row per distinct content.'$s$,
$s$create table %1$I._audit_chain (
    seal     bigint primary key,
    entry_id bigint not null,
    hash     bytea not null,
    constraint _audit_chain_entry_key unique (entry_id)
)$s$,
$s$comment on table %1$I._audit_chain is 'docpal audit hash chain: one row per sealed _audit_log entry.'$s$,
$s$create table %1$I._audit_seals (
    id       bigserial primary key,
    seal     bigint not null,
    entry_id bigint not null,
    hash     bytea not null,
    kind     text not null check (kind in ('run', 'anchor')),
    snap     pg_snapshot,
    id_mark  bigint,
    settled  bigint,
    at       timestamptz not null default pg_catalog.now()
)$s$,
$s$comment on table %1$I._audit_seals is 'docpal audit chain: sealing runs and retention anchors.'$s$,
$s$create index on %1$I._audit_seals (seal)$s$,
$s$create trigger _audit_log_append_only
    before update or delete on %1$I._audit_log
    for each row execute function docpal_private.audit_log_guard()$s$,
$s$create trigger _audit_log_no_truncate
    before truncate on %1$I._audit_log
    for each statement execute function docpal_private.audit_log_guard()$s$,
$s$create trigger _audit_chain_append_only
    before update or delete on %1$I._audit_chain
    for each row execute function docpal_private.audit_log_guard()$s$,
$s$create trigger _audit_chain_no_truncate
    before truncate on %1$I._audit_chain
    for each statement execute function docpal_private.audit_log_guard()$s$,
$s$create trigger _audit_seals_append_only
    before update or delete on %1$I._audit_seals
    for each row execute function docpal_private.audit_log_guard()$s$,
$s$create trigger _audit_seals_no_truncate
    before truncate on %1$I._audit_seals
    for each statement execute function docpal_private.audit_log_guard()$s$,
$s$create table %1$I._clock (
    one      boolean primary key default true check (one),
    audit_id bigint not null default 0,
    event_id bigint not null default 0,
    event_floor bigint not null default 0
)$s$,
$s$insert into %1$I._clock default values$s$,
$s$comment on table %1$I._clock is 'docpal: the last audit entry and event ids handed out on a Citus worker (docpal_private.clock_take).'$s$,
$s$create table %1$I._quota (
    one            boolean primary key default true check (one),
    max_tables     bigint check (max_tables >= 0),
    max_records    bigint check (max_records >= 0),
    max_bytes      bigint check (max_bytes >= 0),
    max_file_bytes bigint check (max_file_bytes >= 0),
    updated_at     timestamptz not null default pg_catalog.now()
)$s$,
$s$comment on table %1$I._quota is 'docpal quotas: the company''s limits (docpal.set_quota); no row, or a null limit: no limit.'$s$,
$s$comment on column %1$I._quota.max_tables is 'docpal quotas: the most tables (create_table; 53400 past it).'$s$,
$s$comment on column %1$I._quota.max_records is 'docpal quotas: the most records over all tables (counted in _usage).'$s$,
$s$comment on column %1$I._quota.max_bytes is 'docpal quotas: the most bytes of the schema''s relations (pg_total_relation_size).'$s$,
$s$comment on column %1$I._quota.max_file_bytes is 'docpal quotas: the most bytes of registered files (sum of _files.size).'$s$,
$s$create table %1$I._usage (
    slot    smallint primary key check (slot between 0 and 15),
    records bigint not null default 0
) with (fillfactor = 20)$s$,
$s$comment on table %1$I._usage is 'docpal quotas: the rows of the company''s tables, sum(records) over 16 slots, kept while the company has a quota (docpal_private.quota_sql, quota_seed).'$s$,
$s$comment on column %1$I._usage.slot is 'docpal quotas: the slot (a writer adds to one it can lock without waiting).'$s$,
$s$comment on column %1$I._usage.records is 'docpal quotas: rows added minus rows removed by the writers of this slot.'$s$,
$s$insert into %1$I._usage (slot) select s from pg_catalog.generate_series(0, 15) s$s$,
$s$create table %1$I._blueprints (
    name          text primary key,
    version       integer not null,
    applied_at    timestamptz not null default pg_catalog.now(),
    spec          jsonb not null,
    reports_saved boolean not null default false
)$s$,
$s$comment on table %1$I._blueprints is 'docpal: the blueprints applied to the company, with the version and document last applied (docpal.apply_blueprint).'$s$,
$s$comment on column %1$I._blueprints.name is 'docpal: the blueprint''s name (unique per company).'$s$,
$s$comment on column %1$I._blueprints.version is 'docpal: the version last applied (an upgrade needs a higher one).'$s$,
$s$comment on column %1$I._blueprints.applied_at is 'docpal: when that version was applied.'$s$,
$s$comment on column %1$I._blueprints.spec is 'docpal: the blueprint document as last applied; an upgrade compares with it to tell what the company''s users removed.'$s$,
$s$comment on column %1$I._blueprints.reports_saved is 'docpal: whether that apply saved the blueprint''s reports (docpal.save_report); false for an apply made before docpal had reports, whose reports an upgrade then saves (those the company lacks).'$s$
]::text[];
$$;
