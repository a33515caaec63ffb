-- Tenant module "rebac", made on the first define_relations or relate
-- (docpal_private.rebac_tables): the relation rules per object type and the
-- relation tuples, indexed both ways. The compiled _rebac_* functions are
-- generated (docpal_private.rebac_compile, a generator: upgraded by
-- fingerprint, not by steps).
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
create index on {{ schema }}._tuples (subject_type, subject_id, subject_relation, relation, object_type);
select docpal_private.rebac_compile('{{ schema }}');
