-- depends: 0001_base
-- API keys: global, because authenticate() finds the key (and so the
-- company) before there is any context. Only the key's SHA-256 is stored.
create table if not exists docpal_private.api_keys (
    id                    uuid primary key default pg_catalog.gen_random_uuid(),
    company_id            uuid not null references docpal_private.companies (id) on delete cascade,
    user_id               uuid not null references docpal_private.users (id) on delete cascade,
    name                  text not null,
    scopes                text[] not null,
    key_hash              bytea not null,
    expires_at            timestamptz,
    rate_limit_per_minute integer check (rate_limit_per_minute >= 1),
    created_at            timestamptz not null default pg_catalog.now(),
    created_by            uuid,
    revoked_at            timestamptz,
    last_used_at          timestamptz,
    constraint api_keys_key_hash_key unique (key_hash),
    constraint api_keys_scopes_known check (scopes <@ array['read', 'create', 'update', 'delete'] and scopes <> '{}')
);
comment on table docpal_private.api_keys is 'API keys: the SHA-256 of each key, never the key.';
create index if not exists api_keys_company_idx on docpal_private.api_keys (company_id);

-- Requests per key and minute, for rate limits.
create table if not exists docpal_private.api_key_usage (
    key_id   uuid not null references docpal_private.api_keys (id) on delete cascade,
    minute   timestamptz not null,
    requests integer not null,
    primary key (key_id, minute)
);

-- Every authentication attempt, good or bad.
create table if not exists docpal_private.auth_attempts (
    id          bigserial primary key,
    at          timestamptz not null default pg_catalog.now(),
    key_id      uuid,
    company_id  uuid,
    ok          boolean not null,
    reason      text not null,
    db_role     text not null default session_user,
    client_addr inet default pg_catalog.inet_client_addr()
);
comment on table docpal_private.auth_attempts is 'Every docpal.authenticate call: outcome and reason.';

-- dblink (contrib) lets a failed authentication be recorded in its own
-- transaction, so the error that follows does not roll the record back.
-- Optional: without it, failures go to the server log. It lives in a schema
-- of its own that no other role may use (its functions are not docpal's).
create schema if not exists docpal_ext;
revoke all on schema docpal_ext from public;
do $$
begin
    create extension if not exists dblink with schema docpal_ext;
exception when others then
    raise notice 'dblink is not available: failed authentications are recorded in the server log only';
end
$$;
