-- grant: docpal_service, docpal_app
create or replace function docpal.get_dashboard(slug text, params jsonb default '{}')
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Dashboard `slug` of the company in context with each widget's data:
   {slug, name, saved_by, saved_at, widgets: [{id, title, report, params,
   chart, x, y, w, h, source, ran_at, data}]}, data being the report's
   result. `params` apply to every widget whose report declares them, over
   the widget's own. A widget of a scheduled report shows the report's
   newest snapshot (source "snapshot", ran_at the snapshot's) when that is
   fresh, was made with the same bound params, and the caller may see it
   (an owner or admin, or a caller who reads exactly what the user the
   snapshot ran as read; docpal_private.dashboard_data). Otherwise the
   report runs now with the caller's grants (source "live"). The caller's
   view is computed once per call, not per widget, and each distinct
   (report, params) is bound once however many widgets show it. A widget whose report cannot be shown
   (dropped report P0002, a table dropped or unreadable 42P01/42501, a
   column gone 42703, params that no longer fit 22023, ...) carries
   error {sqlstate, message} instead of data, the caller's own error as
   run_report would give it: the other widgets still show, and a refusal
   never shows data. Any member may call it. P0002 for an unknown
   dashboard, 22023 when `params` is not an object, names a param no
   widget's report declares or holds a value that does not fit its type,
   54000 for params over 256 KB, 42501 without a context. */
declare
    v_ctx docpal_private.caller;
    v_ctx_json jsonb;
    v_board jsonb;
    v_params jsonb := coalesce(get_dashboard.params, '{}');
    v_reports jsonb := '{}';
    v_missing jsonb := '{}';
    v_given jsonb := '{}';
    v_bound jsonb := '{}';        -- "<report> <merged params>": those params bound for that report
    v_merged jsonb;
    v_seen text;
    v_report jsonb;
    v_widget jsonb;
    v_view text;
    v_out jsonb := '[]';
    v_key text;
    v_sqlstate text;
    v_message text;
begin
    perform docpal_private.check_spec_size(get_dashboard.params, 'get_dashboard');
    select * into v_ctx from docpal_private.require_company();
    v_ctx_json := pg_catalog.to_jsonb(v_ctx);
    if pg_catalog.jsonb_typeof(v_params) <> 'object' then
        raise exception using errcode = '22023', message = 'params must be a JSON object';
    end if;
    v_board := docpal_private.dashboard_get(v_ctx.schema_name, get_dashboard.slug);
    -- each report once; one dropped since the dashboard was saved is that widget's error
    for v_key in select distinct w->>'report' from pg_catalog.jsonb_array_elements(v_board->'widgets') w loop
        begin
            v_reports := v_reports || pg_catalog.jsonb_build_object(v_key, docpal_private.report_get(v_ctx.schema_name, v_key));
        exception when no_data_found then
            get stacked diagnostics v_message = message_text;
            v_missing := v_missing || pg_catalog.jsonb_build_object(v_key,
                pg_catalog.jsonb_build_object('sqlstate', 'P0002', 'message', v_message));
        end;
    end loop;
    -- the call's params are the caller's input: one no report declares, or a value that does
    -- not fit, fails the call (22023) rather than a widget
    select k into v_key from pg_catalog.jsonb_object_keys(v_params) k
     where not exists (select from pg_catalog.jsonb_each(v_reports) r where r.value->'params' ? k)
     order by k limit 1;
    if v_key is not null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('param %s: no report of dashboard %s has it', pg_catalog.to_json(v_key),
                                        pg_catalog.to_json(get_dashboard.slug));
    end if;
    if v_params <> '{}' then
        for v_key, v_report in select r.key, r.value from pg_catalog.jsonb_each(v_reports) r loop
            v_given := v_given || pg_catalog.jsonb_build_object(v_key, docpal_private.dashboard_params(v_report,
                (select coalesce(pg_catalog.jsonb_object_agg(p.key, p.value), '{}')
                   from pg_catalog.jsonb_each(v_params) p where v_report->'params' ? p.key)));
        end loop;
    end if;
    for v_widget in select w from pg_catalog.jsonb_array_elements(v_board->'widgets') w loop
        v_key := v_widget->>'report';
        if v_missing ? v_key then
            v_out := v_out || pg_catalog.jsonb_build_array(v_widget || pg_catalog.jsonb_build_object('error', v_missing->v_key));
            continue;
        end if;
        v_report := v_reports->v_key;
        v_merged := (v_widget->'params') || coalesce(v_given->v_key, '{}');
        v_seen := v_key || ' ' || v_merged::text;  -- a slug has no space
        begin
            if not v_bound ? v_seen then
                v_bound := v_bound || pg_catalog.jsonb_build_object(v_seen, docpal_private.report_bind(v_report, v_merged));
            end if;
            select d.p_view, v_widget || d.o_data into v_view, v_widget
              from docpal_private.dashboard_data(v_ctx_json, v_ctx.schema_name, v_report, v_bound->v_seen, v_view) d;
        exception when others then
            -- what run_report would have told this caller; nothing of the report's data
            get stacked diagnostics v_sqlstate = returned_sqlstate, v_message = message_text;
            v_widget := v_widget || pg_catalog.jsonb_build_object('error',
                pg_catalog.jsonb_build_object('sqlstate', v_sqlstate, 'message', v_message));
        end;
        v_out := v_out || pg_catalog.jsonb_build_array(v_widget);
    end loop;
    return v_board || pg_catalog.jsonb_build_object('widgets', v_out);
end
$$;
