-- depends: 0012_switch_keys
-- The schedule of every company's scheduled reports (contract section 11;
-- issue 17): one row per report with a schedule, with the next time it is
-- due. Runners claim due rows one at a time (docpal.claim_due_report,
-- SKIP LOCKED, so that runners at the same time share the work) instead of
-- visiting every company's schema. Companies take turns: turn is 0 for a
-- report whose company has no report of its own ahead of it in line; when a
-- company's report is claimed, its other due reports get turns 1, 2, ...
-- after the reports already in line, so every other company with due work
-- gets one before it gets its next (docpal_private.report_queue). The index
-- serves both claims in their order: turn 0 by next_run_at (oldest due
-- first), then the lowest turn. Written only by docpal's functions
-- (save_report, drop_report, the claims). Idempotent: the install script
-- replays every migration.
create table if not exists docpal_private.report_schedule (
    company_id  uuid not null references docpal_private.companies (id) on delete cascade,
    report      text not null,
    next_run_at timestamptz not null,
    turn        integer not null default 0,
    primary key (company_id, report)
);
create index if not exists report_schedule_turn on docpal_private.report_schedule (turn, next_run_at, company_id, report);
comment on table docpal_private.report_schedule is
    'The next due time of every scheduled report of every company (docpal.claim_due_report, run_due_reports).';
comment on column docpal_private.report_schedule.turn is
    'docpal: 0, or this due report''s place in line behind other companies'' reports (docpal.claim_due_report).';
