create or replace function docpal_private.event_hint()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Statement trigger on a company's outbox (_events,
   docpal_private.event_hints_on): records that the writing transaction
   wrote events in the company, by its schema (docpal_private.event_hints;
   the same trigger in every company, no lookup), so that a poll
   without a context visits only the companies with something new
   (docpal_private.event_sweep). One row per transaction and company: a later
   statement of the same transaction finds it and writes nothing. Writers
   never update a shared row, so they never wait on one another here. On a
   Citus shard (the table is not named _events) nothing: a distributed
   company's events carry no transaction id, and polls always visit it. */
begin
    if tg_table_name = '_events' then
        insert into docpal_private.event_hints (xid, company_schema)
        values (pg_catalog.pg_current_xact_id(), tg_table_schema)
        on conflict do nothing;
    end if;
    return null;
end
$$;
