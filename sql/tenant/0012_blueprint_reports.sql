-- Blueprint reports (contract sections 8 and 11; issue 17). Before issue 17
-- apply_blueprint stored a blueprint's reports with the document but saved
-- none. An upgrade leaves out what the previous version had (the company
-- dropped it), so it must know whether the previous version's reports were
-- ever saved: rows written before this step say false, and apply_blueprint
-- sets true from now on.
alter table {{ schema }}._blueprints add column if not exists reports_saved boolean not null default false;
comment on column {{ schema }}._blueprints.reports_saved is 'docpal: whether that apply saved the blueprint''s reports (docpal.save_report); false for an apply made before docpal had reports, whose reports an upgrade then saves (those the company lacks).';
