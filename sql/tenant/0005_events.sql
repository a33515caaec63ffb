-- Change events: a company that already has tables gets its outbox
-- (_events) and capture functions that also write events. A new company
-- gets its outbox with its first table (docpal_private.data_setup).
select docpal_private.audit_setup('{{ schema }}'::regnamespace);
