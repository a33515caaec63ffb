create or replace function docpal_private.dashboard_data(
    p_ctx jsonb, p_schema text, p_report jsonb, p_params jsonb, inout p_view text, out o_data jsonb)
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* One widget's data for docpal.get_dashboard: {source, ran_at, data} of
   report p_report (as docpal_private.report_get returns it) with the
   widget's merged params p_params, already bound
   (docpal_private.report_bind: get_dashboard binds each distinct report
   and params once per call, however many widgets share them), for the
   caller of p_ctx
   (docpal_private.require_company() as jsonb). The newest snapshot
   (source "snapshot") when it is fresh and made with the same bound params
   (docpal_private.dashboard_snapshot) and the caller may see it
   (docpal_private.report_sees; for a report naming "$user", only the very
   view it was made with: an admin's "my tasks" are not the owner's); else
   a run now under the caller's context (source "live",
   docpal_private.report_execute_bound). p_view carries the caller's view of
   reports that do not name "$user" from one widget to the next (null at
   first): it is the same for all of them, so a call computes it once. The
   errors of running come through (get_dashboard makes them the widget's). */
declare
    v_snapshot jsonb := docpal_private.dashboard_snapshot(p_schema, p_report, p_params);
    v_run jsonb;
begin
    if v_snapshot is null then
        null;
    elsif docpal_private.report_names_user(p_report) then
        if docpal_private.report_view(p_ctx, p_report) is distinct from v_snapshot->>'view' then
            v_snapshot := null;
        end if;
    else
        p_view := coalesce(p_view, docpal_private.report_view(p_ctx, p_report));
        if not docpal_private.report_sees(p_ctx, p_view, v_snapshot->>'view') then
            v_snapshot := null;
        end if;
    end if;
    if v_snapshot is not null then
        o_data := pg_catalog.jsonb_build_object('source', 'snapshot', 'ran_at', v_snapshot->'ran_at',
                                                'data', v_snapshot->'result');
    else
        v_run := docpal_private.report_execute_bound(p_report, p_params);
        o_data := pg_catalog.jsonb_build_object('source', 'live', 'ran_at', v_run->'ran_at', 'data', v_run->'result');
    end if;
end
$$;
