create or replace function docpal_private.dashboard_params(p_report jsonb, p_params jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Some of report p_report's params (the report as docpal_private.report_get
   returns it), checked and normalized: a widget's own params at
   save_dashboard, the params of a get_dashboard call. Unlike a run's, any
   of them may be left out (the rest comes from the widget, the call or the
   defaults), so they are bound by docpal_private.report_bind against a
   copy of the report that declares only the params given (and holds no
   spec: only declarations are bound). 22023 when p_params is not an
   object, names a param the report does not declare, or holds a value that
   does not fit its param (the message names it: param "day": ...). Returns
   the given params, normalized. */
begin
    return docpal_private.report_bind(
        p_report || pg_catalog.jsonb_build_object(
            'spec', '{}'::jsonb,
            'params', coalesce((select pg_catalog.jsonb_object_agg(d.key, d.value)
                                  from pg_catalog.jsonb_each(coalesce(p_report->'params', '{}')) d
                                 where pg_catalog.jsonb_typeof(p_params) = 'object' and p_params ? d.key), '{}')),
        coalesce(p_params, '{}'));
end
$$;
