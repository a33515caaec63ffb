-- depends: 0008_caller_type
-- Global tables that Citus can make reference tables (contract section 10,
-- rule 10; issue 14). Idempotent: the install script replays every migration.

-- companies.number: a bigint with a sequence default (regclass), not an
-- identity (create_reference_table restarts an identity, and new companies
-- then collided with old numbers). Existing numbers stay; the sequence goes
-- on after the highest number any company had or the identity handed out.
-- The range (1 .. 2^21 - 1, migration 0004) stays a check and the
-- sequence's maxvalue.
do $$
declare
    v_identity text;
    v_last bigint := 0;
    v_owner text;
begin
    if exists (select from pg_catalog.pg_attribute a
                where a.attrelid = 'docpal_private.companies'::regclass and a.attname = 'number'
                  and a.attidentity <> '') then
        v_identity := pg_catalog.pg_get_serial_sequence('docpal_private.companies', 'number');
        select coalesce(s.last_value, 0) into v_last
          from pg_catalog.pg_sequences s
         where pg_catalog.format('%I.%I', s.schemaname, s.sequencename) = v_identity;
        select greatest(coalesce(v_last, 0), coalesce(pg_catalog.max(c.number), 0)) into v_last
          from docpal_private.companies c;
        alter table docpal_private.companies alter column number drop identity;
    end if;
    if pg_catalog.to_regclass('docpal_private.companies_number_seq') is null then
        create sequence docpal_private.companies_number_seq as bigint minvalue 1 maxvalue 2097151;
        -- an owned sequence has its table's owner
        select c.relowner::regrole::text into v_owner from pg_catalog.pg_class c
         where c.oid = 'docpal_private.companies'::regclass;
        execute pg_catalog.format('alter sequence docpal_private.companies_number_seq owner to %s', v_owner);
        alter sequence docpal_private.companies_number_seq owned by docpal_private.companies.number;
        if v_last > 0 then
            perform pg_catalog.setval('docpal_private.companies_number_seq', v_last);
        end if;
    end if;
end
$$;
alter table docpal_private.companies
    alter column number set default pg_catalog.nextval('docpal_private.companies_number_seq'::regclass);
alter table docpal_private.companies alter column number set not null;
comment on column docpal_private.companies.number is 'Small company number (1 .. 2^21 - 1, from companies_number_seq): event ids of the company are number * 2^32 + its own sequence.';

-- What docpal_private.company_for_update and event_company return: a type
-- of its own, not the companies row type (Citus renames a reference table's
-- relation, and a function declared on its row type breaks).
do $$
begin
    create type docpal_private.company as (
        id             uuid,
        slug           text,
        name           text,
        status         text,
        status_reason  text,
        settings       jsonb,
        schema_name    text,
        schema_version integer,
        number         bigint,
        created_at     timestamptz,
        updated_at     timestamptz
    );
exception when duplicate_object then
    null;
end
$$;
comment on type docpal_private.company is 'A company row (docpal_private.companies), as private functions return it.';

-- Scale-out opt-in (contract section 10): create_company distributes a new
-- company schema only when this platform setting is on (and Citus is
-- installed); never a session setting a client could write.
insert into docpal_private.platform_settings (name, value) values ('distributed', 'off')
on conflict (name) do nothing;
