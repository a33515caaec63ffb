-- The blueprints applied to the company (contract section 8 "Blueprints";
-- issue 15): one row per blueprint name, with the version last applied and
-- the blueprint document as last applied (docpal.apply_blueprint). An upgrade
-- (a higher version) updates the row; the same or a lower version leaves it.
create table if not exists {{ schema }}._blueprints (
    name       text primary key,
    version    integer not null,
    applied_at timestamptz not null default pg_catalog.now(),
    spec       jsonb not null
);
comment on table {{ schema }}._blueprints is 'docpal: the blueprints applied to the company, with the version and document last applied (docpal.apply_blueprint).';
comment on column {{ schema }}._blueprints.name is 'docpal: the blueprint''s name (unique per company).';
comment on column {{ schema }}._blueprints.version is 'docpal: the version last applied (an upgrade needs a higher one).';
comment on column {{ schema }}._blueprints.applied_at is 'docpal: when that version was applied.';
comment on column {{ schema }}._blueprints.spec is 'docpal: the blueprint document as last applied; an upgrade compares with it to tell what the company''s users removed.';
