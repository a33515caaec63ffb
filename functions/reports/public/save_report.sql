-- grant: docpal_service, docpal_app
create or replace function docpal.save_report(spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Saves a report of the company in context: spec {slug, name, description,
   table, kind, spec, params, schedule}. slug as a table's
   (^[a-z][a-z0-9_]{0,62}$); name defaults to the slug; kind is query
   (query_table), aggregate, kanban or calendar; spec is that function's
   spec (default {}), where a string value "$param.<name>" stands for a
   param; params {name: {type, default?, ...}} as
   docpal_private.report_params checks them; schedule a cron expression
   (docpal_private.cron_check) or null. The spec is checked as the caller:
   compiled with the params' defaults (or sample values of their types) by
   the kind's query compiler without running it
   (docpal_private.report_check), so a member saves reports only on what it
   may read. Any member may save a new slug; replacing one is for owners
   and admins (not through a narrowed API key) and for the user who saved
   it (42501 for anyone else), makes the caller its saver (scheduled runs
   run as the saver) and deletes its snapshots (the spec changed). A
   schedule is entered in docpal_private.report_schedule, due first at its
   next time after now in the company's time zone. Returns the report
   (docpal_private.report_json). 54000 for a spec over the size limits
   (more than 64 params, a "$param." nested over 64 levels deep included)
   and for a new slug when the company has 1,000 reports
   (docpal_private.report_cap), 22023 for a malformed spec, schedule or
   param, 42P01 for an unknown table, 42703 for an unknown path, 42501
   without a context or grant. */
declare
    v_ctx docpal_private.caller;
    v_ctxj jsonb;
    v_spec jsonb := save_report.spec;
    v_slug text;
    v_params jsonb;
    v_query jsonb;
    v_schedule text;
    v_next timestamptz;
    v_report jsonb;
    v_admin boolean;
begin
    perform docpal_private.check_spec_size(v_spec, 'save_report');
    select * into v_ctx from docpal_private.require_company();
    v_ctxj := pg_catalog.to_jsonb(v_ctx);
    perform docpal_private.check_keys(v_spec, 'a report must be a JSON object',
        array['slug', 'name', 'description', 'table', 'kind', 'spec', 'params', 'schedule'], 'unknown report key %L',
        'A report has slug, name, description, table, kind, spec, params and schedule.');
    v_slug := v_spec->>'slug';
    if pg_catalog.jsonb_typeof(v_spec->'slug') is distinct from 'string' or v_slug !~ '^[a-z][a-z0-9_]{0,62}$' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('invalid report slug %s', coalesce((v_spec->'slug')::text, 'null')),
            hint = 'A report slug is a lower-case letter, then up to 62 letters, digits or underscores.';
    end if;
    if v_spec ? 'name' and (pg_catalog.jsonb_typeof(v_spec->'name') <> 'string' or pg_catalog.btrim(v_spec->>'name') = '') then
        raise exception using errcode = '22023', message = 'a report''s name must be a non-empty string';
    end if;
    if pg_catalog.jsonb_typeof(v_spec->'description') not in ('string', 'null') then
        raise exception using errcode = '22023', message = 'a report''s description must be a string';
    end if;
    if pg_catalog.jsonb_typeof(v_spec->'kind') is distinct from 'string'
       or v_spec->>'kind' not in ('query', 'aggregate', 'kanban', 'calendar') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('unknown report kind %s', coalesce((v_spec->'kind')::text, 'null')),
            hint = 'A report''s kind is query, aggregate, kanban or calendar.';
    end if;
    if pg_catalog.jsonb_typeof(v_spec->'table') is distinct from 'string' then
        raise exception using errcode = '22023', message = 'a report needs a table';
    end if;
    perform docpal_private.table_spec(v_ctx.schema_name, v_spec->>'table');  -- 42P01
    v_query := coalesce(v_spec->'spec', '{}');
    if pg_catalog.jsonb_typeof(v_query) <> 'object' then
        raise exception using errcode = '22023', message = 'a report''s spec must be a JSON object (the query''s spec)';
    end if;
    v_params := docpal_private.report_params(v_ctx.schema_name, v_spec->'params');
    if pg_catalog.jsonb_typeof(v_spec->'schedule') not in ('string', 'null') then
        raise exception using errcode = '22023', message = 'a report''s schedule must be a cron expression or null';
    end if;
    v_schedule := docpal_private.cron_check(v_spec->>'schedule');
    if v_schedule is not null then
        v_next := docpal_private.cron_next(v_schedule, pg_catalog.now(), docpal_private.company_time_zone(v_ctx.schema_name));
    end if;
    -- the spec as the caller, with values of the params' types (22023 for an undeclared $param)
    perform docpal_private.report_check(v_ctxj, v_spec->>'kind', v_spec->>'table',
                                        docpal_private.report_substitute(v_query, docpal_private.report_sample(v_ctx.schema_name, v_params)));

    perform docpal_private.report_tables(v_ctx.schema_name);
    perform docpal_private.report_cap(v_ctx.schema_name, 'report', v_slug);  -- 54000 for a new one past 1,000
    v_admin := v_ctx.member_role in ('owner', 'admin')
               and (v_ctx.scopes is null or v_ctx.scopes @> array['read', 'create', 'update', 'delete']);
    -- one statement decides new or allowed replacement, so two savers of a new slug cannot both "create" it
    execute pg_catalog.format(
        'insert into %I._reports as r (slug, name, description, table_slug, kind, spec, params, schedule, saved_by, saved_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (slug) do update
            set name = excluded.name, description = excluded.description, table_slug = excluded.table_slug,
                kind = excluded.kind, spec = excluded.spec, params = excluded.params, schedule = excluded.schedule,
                saved_by = excluded.saved_by, saved_at = excluded.saved_at, last_run_at = null, last_error = null
          where $11 or pg_catalog.uuid_eq(r.saved_by, $9)  -- uuid_eq, not =: tests/test_shard_safe.py proves a DO UPDATE immutable by function name
         returning r.slug', v_ctx.schema_name)
       into v_slug
      using v_slug, coalesce(v_spec->>'name', v_slug), v_spec->>'description', v_spec->>'table', v_spec->>'kind',
            v_query, v_params, v_schedule, v_ctx.user_id, pg_catalog.now(), v_admin;
    if v_slug is null then
        raise exception using errcode = '42501',
            message = pg_catalog.format('report %s was saved by another user: only its saver, owners and admins may replace it',
                                        pg_catalog.to_json(v_spec->>'slug'));
    end if;
    v_report := docpal_private.report_get(v_ctx.schema_name, v_slug);
    -- a replaced report's results are of another spec
    execute pg_catalog.format('delete from %I._report_snapshots s where s.report = $1', v_ctx.schema_name) using v_slug;
    if v_schedule is null then
        delete from docpal_private.report_schedule s where s.company_id = v_ctx.company_id and s.report = v_slug;
    else
        insert into docpal_private.report_schedule as s (company_id, report, next_run_at)
        values (v_ctx.company_id, v_slug, v_next)
        on conflict (company_id, report) do update set next_run_at = excluded.next_run_at;
    end if;
    return docpal_private.report_json(v_report, v_next);
end
$$;
