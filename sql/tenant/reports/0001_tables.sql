-- Tenant module "reports" (contract section 11; issue 17), made by the
-- first save_report or save_dashboard of the company
-- (docpal_private.report_tables): saved reports, their stored results
-- (snapshots), dashboards. A company that never saves one has none of these
-- objects; readers take their absence for "none". The schedule of every
-- company's reports is also in docpal_private.report_schedule (platform),
-- so that run_due_reports finds what is due with one index scan instead of
-- visiting every company.
create table {{ schema }}._reports (
    slug        text primary key,
    name        text not null,
    description text,
    table_slug  text not null,
    kind        text not null check (kind in ('query', 'aggregate', 'kanban', 'calendar')),
    spec        jsonb not null,
    params      jsonb not null default '{}',
    schedule    text,
    saved_by    uuid not null,
    saved_at    timestamptz not null default pg_catalog.now(),
    -- the last scheduled run: when, and its error when it failed
    last_run_at timestamptz,
    last_error  jsonb
);
comment on table {{ schema }}._reports is 'docpal reports: saved query specs with typed parameters and an optional schedule (docpal.save_report).';
comment on column {{ schema }}._reports.saved_by is 'docpal: the user who saved the report; scheduled runs run as this user.';
comment on column {{ schema }}._reports.last_error is 'docpal: {at, sqlstate, message} of the last scheduled run when it failed, else null.';

create table {{ schema }}._report_snapshots (
    id      bigserial primary key,
    report  text not null references {{ schema }}._reports (slug) on delete cascade,
    ran_at  timestamptz not null,
    -- the scheduled time the run was for (its freshness is measured from it)
    due_at  timestamptz not null,
    ms      numeric not null,
    params  jsonb not null,
    -- what the saver could read when it ran (docpal_private.report_view):
    -- a snapshot is shown only to callers who read exactly that
    view    text not null,
    result  jsonb not null
);
create index on {{ schema }}._report_snapshots (report, ran_at desc);
comment on table {{ schema }}._report_snapshots is 'docpal reports: results stored by docpal.run_due_reports, as the saver saw them; the newest N per report are kept.';

create table {{ schema }}._dashboards (
    slug     text primary key,
    name     text not null,
    widgets  jsonb not null,
    saved_by uuid not null,
    saved_at timestamptz not null default pg_catalog.now()
);
comment on table {{ schema }}._dashboards is 'docpal dashboards: saved sets of report widgets laid out as charts (docpal.save_dashboard).';

select docpal_private.user_refs_trigger('{{ schema }}', '_reports', array['saved_by', '_reports_saved_by_fkey']);
select docpal_private.user_refs_trigger('{{ schema }}', '_dashboards', array['saved_by', '_dashboards_saved_by_fkey']);
