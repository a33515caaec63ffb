create or replace function docpal_private.event_ids(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Step 1 of tenant module "data": the company's outbox ids and channel.
   Its _events ids come from the company's own sequence inside
   number * 2^32 + 1 .. (number + 1) * 2^32 - 1, so they are unique across
   companies, tell the company they belong to and stay below 2^53 (company
   numbers end at 2^21 - 1); its notification channel is a row of
   docpal_private.event_channels. */
declare
    v_company record;
    v_first bigint;
begin
    select * into strict v_company from docpal_private.companies c where c.schema_name = p_schema;
    v_first := v_company.number * 4294967296;  -- 2^32
    execute pg_catalog.format('alter sequence %I._events_id_seq minvalue %s maxvalue %s start %s restart %s',
                              p_schema, v_first + 1, v_first + 4294967295, v_first + 1, v_first + 1);
    insert into docpal_private.event_channels (company_id) values (v_company.id)
    on conflict (company_id) do nothing;
end
$$;
