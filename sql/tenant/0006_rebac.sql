-- Relationship-based access: rules per object type and the relation tuples
-- (object#relation@subject, subject_relation '' for a plain subject). The
-- primary key serves every lookup a check makes (from the object down);
-- the second index serves reverse lookups (what does this subject reach).
create table {{ schema }}._relation_rules (
    object_type text primary key,
    rules       jsonb not null,
    updated_at  timestamptz not null default pg_catalog.now()
);

create table {{ schema }}._tuples (
    object_type      text not null,
    object_id        text not null,
    relation         text not null,
    subject_type     text not null,
    subject_id       text not null,
    subject_relation text not null default '',
    primary key (object_type, object_id, relation, subject_type, subject_id, subject_relation)
);
comment on table {{ schema }}._tuples is 'docpal ReBAC tuples: object#relation@subject[#subject_relation].';

create index on {{ schema }}._tuples (subject_type, subject_id, subject_relation, relation, object_type);

select docpal_private.rebac_compile((select n.nspname::text from pg_catalog.pg_namespace n
                                      where n.oid = '{{ schema }}'::regnamespace));
