-- depends: 0003_events
-- Locks a client cannot take or stretch (issue 12).
--
-- Platform settings: values only platform admins change
-- (docpal.set_platform_setting, docpal_service), never a session setting a
-- client could write. lock_timeout is the longest docpal waits on any lock;
-- it is written into the SET clause of every docpal function
-- (docpal_private.apply_lock_timeout) at the end of every install and
-- whenever it changes.
create table if not exists docpal_private.platform_settings (
    name  text primary key,
    value text not null
);
comment on table docpal_private.platform_settings is
    'Platform-wide docpal settings; changed only through docpal.set_platform_setting (platform admins).';
insert into docpal_private.platform_settings (name, value) values ('lock_timeout', '2s')
on conflict (name) do nothing;

-- Mutual exclusion per company and purpose (the sealer, the first creation
-- of a company's lazily made tables, workflow definitions): a row locked
-- FOR UPDATE, instead of an advisory lock whose public key any login could
-- take first. Rows are made on first use; clients have no privilege here.
create table if not exists docpal_private.company_locks (
    company_id uuid not null references docpal_private.companies (id) on delete cascade,
    purpose    text not null,
    primary key (company_id, purpose)
);
comment on table docpal_private.company_locks is
    'One row per company and purpose, locked FOR UPDATE to serialise that purpose (docpal_private.company_lock).';
