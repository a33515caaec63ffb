-- Which transactions wrote events in the company, for polls without a
-- context (docpal_private.event_hint, docpal_private.event_sweep): a
-- statement trigger on the outbox.
select docpal_private.event_hints_on('{{ schema }}');
