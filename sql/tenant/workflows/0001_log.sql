-- Tenant module "workflows", made by the first define_workflow of the
-- company (docpal_private.workflow_tables): the workflow log, every approval
-- and every state change made by docpal.transition_record, oldest first.
create table {{ schema }}._workflow_log (
    id         bigserial primary key,
    at         timestamptz not null default pg_catalog.now(),
    "table"    text not null,
    record_id  uuid not null,
    workflow   text not null,
    transition text not null,
    from_state text,
    to_state   text,
    user_id    uuid,
    comment    text,
    kind       text not null check (kind in ('approval', 'transition'))
);
create index on {{ schema }}._workflow_log ("table", record_id, id);
comment on table {{ schema }}._workflow_log is 'docpal workflows: every approval and state change of docpal.transition_record, oldest first.';
