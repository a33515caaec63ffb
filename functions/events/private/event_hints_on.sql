create or replace function docpal_private.event_hints_on(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Step 3 of tenant module "data": the statement trigger that records in
   docpal_private.event_hints which transactions wrote to the company's
   outbox (docpal_private.event_hint). */
begin
    execute pg_catalog.format(
        'create or replace trigger _docpal_event_hint after insert on %I._events
             for each statement execute function docpal_private.event_hint()', p_schema);
end
$$;
