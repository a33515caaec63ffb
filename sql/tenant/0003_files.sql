-- File metadata for `file` columns: the bytes live in object storage under
-- storage_key; the same content (sha256) is registered once per company.
create table {{ schema }}._files (
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
);
comment on table {{ schema }}._files is 'docpal files: metadata of stored files, one row per distinct content.';
