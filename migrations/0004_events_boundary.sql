-- depends: 0003_events
-- Events behind the tenant boundary (issue 12). Every statement can run
-- again (the install script replays every migration).

-- Platform settings that only platform admins change (never a session
-- setting). Migration 0005 (locks) creates the same table if this one has
-- not: same shape.
create table if not exists docpal_private.platform_settings (
    name  text primary key,
    value text not null
);
comment on table docpal_private.platform_settings is 'Platform settings (lock timeout, notification threshold); changed by platform admins only.';
-- notifications are skipped while pg_notification_queue_usage() is at or
-- above this fraction (docpal_private.notify_allowed)
insert into docpal_private.platform_settings (name, value) values ('notify_threshold', '0.5')
on conflict (name) do nothing;

-- The key that signs docpal's internal switches (docpal_private.switch_set):
-- a restore or rollback in progress, links written by docpal itself, audit
-- maintenance. 32 random bytes, like context_hmac, and a different key.
insert into docpal_private.secrets (name, value)
values ('switch_hmac', pg_catalog.decode(pg_catalog.replace(
        pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex'))
on conflict (name) do nothing;

-- Each company's notification channel: random (122 bits), so that nobody
-- derives it from the company id; readable only through docpal.event_channel()
-- (owners, admins, the service role). 39 bytes, under NAMEDATALEN.
create table if not exists docpal_private.event_channels (
    company_id uuid primary key references docpal_private.companies (id) on delete cascade,
    channel    text not null unique
        default 'docpal_' || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '')
);
comment on table docpal_private.event_channels is 'The NOTIFY channel of each company (secret: LISTEN is open to every login).';
insert into docpal_private.event_channels (company_id) select c.id from docpal_private.companies c
on conflict (company_id) do nothing;

-- Event ids below 2^53 (JSON numbers that JavaScript reads exactly): company
-- number * 2^32 + the company's own sequence (1 .. 2^32 - 1), company numbers
-- 1 .. 2^21 - 1 (2,097,151 companies of 4,294,967,295 events each). Until
-- 0003 they were number * 2^40 + n: renumber the outboxes, sequences and
-- consumer positions (a value is old-style when it is at or above
-- number * 2^40, which no new id of that company reaches).
do $renumber$
declare
    v_company record;
    v_old bigint;
    v_new bigint;
    v_seq record;
    v_next bigint;
begin
    if exists (select from docpal_private.companies c where c.number > 2097151) then
        raise exception 'a company number is above 2097151: event ids of it cannot stay below 2^53'
            using hint = 'Renumber docpal_private.companies.number by hand (no events of those companies may be pending), then migrate again.';
    end if;
    for v_company in select c.id, c.number, c.schema_name from docpal_private.companies c order by c.number loop
        v_old := v_company.number * 1099511627776;  -- 2^40
        v_new := v_company.number * 4294967296;     -- 2^32
        update docpal_private.event_consumers e
           set batch_first = case when e.batch_first >= v_old then e.batch_first - v_old + v_new else e.batch_first end,
               batch_last = case when e.batch_last >= v_old then e.batch_last - v_old + v_new else e.batch_last end,
               acked = case when e.acked >= v_old then e.acked - v_old + v_new else e.acked end,
               sent = case when e.sent >= v_old then e.sent - v_old + v_new else e.sent end
         where e.company_id = v_company.id
           and (e.batch_first >= v_old or e.batch_last >= v_old or e.acked >= v_old or e.sent >= v_old);
        continue when pg_catalog.to_regclass(pg_catalog.format('%I._events', v_company.schema_name)) is null;
        execute pg_catalog.format('update %I._events e set id = e.id - $1 + $2 where e.id >= $1', v_company.schema_name)
          using v_old, v_new;
        -- last_value: null while the sequence was never called
        select s.max_value, s.last_value into v_seq
          from pg_catalog.pg_sequences s
         where s.schemaname = v_company.schema_name and s.sequencename = '_events_id_seq';
        if v_seq.max_value >= v_old then
            -- where the old sequence would go next, moved into the new range
            v_next := coalesce(v_seq.last_value + 1, v_old + 1) - v_old + v_new;
            if v_next > v_new + 4294967295 then
                raise exception 'company % has used more than 2^32 event ids', v_company.id;
            end if;
            execute pg_catalog.format('alter sequence %I._events_id_seq minvalue %s maxvalue %s start %s restart %s',
                                      v_company.schema_name, v_new + 1, v_new + 4294967295, v_new + 1, v_next);
        end if;
    end loop;
end
$renumber$;
alter table docpal_private.companies drop constraint if exists companies_number_range;
alter table docpal_private.companies add constraint companies_number_range check (number between 1 and 2097151);
-- (an identity until 0009, which makes it a plain sequence default with the same maxvalue)
do $maxvalue$
begin
    if exists (select from pg_catalog.pg_attribute a
                where a.attrelid = 'docpal_private.companies'::regclass and a.attname = 'number'
                  and a.attidentity <> '') then
        alter table docpal_private.companies alter column number set maxvalue 2097151;
    end if;
end
$maxvalue$;
comment on column docpal_private.companies.number is 'Small company number (1 .. 2^21 - 1): event ids of the company are number * 2^32 + its own sequence.';

-- With pg_cron in this database, outbox retention runs every hour by itself
-- (cron.schedule with a job name replaces the job of that name: idempotent).
-- Installed later: run the same statement by hand (docs/operations.md).
do $cron$
begin
    if exists (select from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
        execute $s$select cron.schedule('docpal-maintain-events', '17 * * * *', 'select docpal.maintain_events()')$s$;
    end if;
end
$cron$;
