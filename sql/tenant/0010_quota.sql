-- Quotas (contract section 8, docs/quotas.md). The quota of the company,
-- set by docpal.set_quota (no row: no limits). It lives in the company
-- schema, not in docpal_private: on a Citus worker the capture functions,
-- which check max_records and max_bytes, read only the company's own tables.
create table if not exists {{ schema }}._quota (
    one            boolean primary key default true check (one),
    max_tables     bigint check (max_tables >= 0),
    max_records    bigint check (max_records >= 0),
    max_bytes      bigint check (max_bytes >= 0),
    max_file_bytes bigint check (max_file_bytes >= 0),
    updated_at     timestamptz not null default pg_catalog.now()
);
comment on table {{ schema }}._quota is 'docpal quotas: the company''s limits (docpal.set_quota); no row, or a null limit: no limit.';
comment on column {{ schema }}._quota.max_tables is 'docpal quotas: the most tables (create_table; 53400 past it).';
comment on column {{ schema }}._quota.max_records is 'docpal quotas: the most records over all tables (counted in _usage).';
comment on column {{ schema }}._quota.max_bytes is 'docpal quotas: the most bytes of the schema''s relations (pg_total_relation_size).';
comment on column {{ schema }}._quota.max_file_bytes is 'docpal quotas: the most bytes of registered files (sum of _files.size).';
-- The company's record count, kept by the capture function of each table
-- (docpal_private.quota_sql) while the company has a quota: 16 slots, so
-- that writers never wait on one counter row; the count is sum(records).
-- No company has a quota when this step runs, so nothing is counted here:
-- docpal.set_quota counts the rows when it sets a company's first quota
-- (docpal_private.quota_seed). A low fill factor leaves room for the HOT
-- updates every counted write makes.
create table if not exists {{ schema }}._usage (
    slot    smallint primary key check (slot between 0 and 15),
    records bigint not null default 0
) with (fillfactor = 20);
comment on table {{ schema }}._usage is 'docpal quotas: the rows of the company''s tables, sum(records) over 16 slots, kept while the company has a quota (docpal_private.quota_sql, quota_seed).';
comment on column {{ schema }}._usage.slot is 'docpal quotas: the slot (a writer adds to one it can lock without waiting).';
comment on column {{ schema }}._usage.records is 'docpal quotas: rows added minus rows removed by the writers of this slot.';
insert into {{ schema }}._usage (slot) select s from pg_catalog.generate_series(0, 15) s on conflict (slot) do nothing;
