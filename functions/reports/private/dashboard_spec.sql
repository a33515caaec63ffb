create or replace function docpal_private.dashboard_spec(p_schema text, p_spec jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The dashboard spec p_spec of docpal.save_dashboard, checked and
   normalized for the company of schema p_schema: {slug, name, widgets}
   (slug as a report's, ^[a-z][a-z0-9_]{0,62}$; name, at most 200
   characters, defaults to the slug), each widget {id, title, report, params, chart, x, y, w, h} with its title
   (the report's name when none is given) and its params normalized
   (docpal_private.dashboard_params). The layout is a grid of 24 columns:
   x 0..23 and w 1..24 with x + w <= 24, y 0..999 and h 1..100 rows; widgets
   may overlap (placing them is the UI's business). 22023 for anything
   malformed: an unknown key, a bad slug or name, widgets not an array, a widget id that is not
   1 to 64 letters, digits, "_" or "-" or that repeats, a report that does
   not exist (a dashboard is checked whole when it is saved), a chart
   outside number, bar, line, pie, table, kanban (kanban needs a kanban
   report), params the report does not declare or that do not fit their
   type. 54000 for more than 50 widgets. */
declare
    v_widget jsonb;
    v_report jsonb;
    v_reports jsonb := '{}';
    v_widgets jsonb := '[]';
    v_ids text[] := '{}';
    v_id text;
    v_params jsonb;
    v_key text;
    v_message text;
begin
    perform docpal_private.check_keys(p_spec, 'a dashboard must be a JSON object', array['slug', 'name', 'widgets'],
        'unknown dashboard key %L', 'A dashboard has slug, name and widgets.');
    if pg_catalog.jsonb_typeof(p_spec->'slug') is distinct from 'string' or p_spec->>'slug' !~ '^[a-z][a-z0-9_]{0,62}$' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('invalid dashboard slug %s', coalesce((p_spec->'slug')::text, 'null')),
            hint = 'A dashboard slug is a lower-case letter, then up to 62 letters, digits or underscores.';
    end if;
    if p_spec ? 'name' and (pg_catalog.jsonb_typeof(p_spec->'name') <> 'string' or p_spec->>'name' !~ '[^[:space:]]'
                            or pg_catalog.length(p_spec->>'name') > 200) then
        raise exception using errcode = '22023', message = 'a dashboard''s name must be a non-empty string of at most 200 characters';
    end if;
    if pg_catalog.jsonb_typeof(p_spec->'widgets') is distinct from 'array' then
        raise exception using errcode = '22023', message = 'a dashboard''s widgets must be an array';
    end if;
    -- a get_dashboard runs every widget: their number bounds its cost
    if pg_catalog.jsonb_array_length(p_spec->'widgets') > 50 then
        raise exception using errcode = '54000',
            message = pg_catalog.format('a dashboard holds at most 50 widgets, not %s', pg_catalog.jsonb_array_length(p_spec->'widgets'));
    end if;
    for v_widget in select w from pg_catalog.jsonb_array_elements(p_spec->'widgets') w loop
        perform docpal_private.check_keys(v_widget, 'a widget must be a JSON object',
            array['id', 'title', 'report', 'params', 'chart', 'x', 'y', 'w', 'h'], 'unknown widget key %L',
            'A widget has id, title, report, params, chart, x, y, w and h.');
        if pg_catalog.jsonb_typeof(v_widget->'id') is distinct from 'string' or v_widget->>'id' !~ '^[A-Za-z0-9_-]{1,64}$' then
            raise exception using errcode = '22023', message = 'a widget needs an id of 1 to 64 letters, digits, "_" or "-"';
        end if;
        v_id := v_widget->>'id';
        if v_id = any (v_ids) then
            raise exception using errcode = '22023', message = pg_catalog.format('widget id %s appears twice', pg_catalog.to_json(v_id));
        end if;
        v_ids := v_ids || v_id;
        if pg_catalog.jsonb_typeof(v_widget->'report') is distinct from 'string' then
            raise exception using errcode = '22023', message = pg_catalog.format('widget %s needs a report', pg_catalog.to_json(v_id));
        end if;
        v_report := v_reports->(v_widget->>'report');
        if v_report is null then
            begin
                v_report := docpal_private.report_get(p_schema, v_widget->>'report');
            exception when no_data_found then
                -- a spec naming what is not there is malformed (22023), like a query naming an unknown option
                raise exception using errcode = '22023',
                    message = pg_catalog.format('widget %s: report %s does not exist', pg_catalog.to_json(v_id),
                                                pg_catalog.to_json(v_widget->>'report'));
            end;
            v_reports := v_reports || pg_catalog.jsonb_build_object(v_widget->>'report', v_report);
        end if;
        if v_widget ? 'title' and v_widget->'title' <> 'null'
           and (pg_catalog.jsonb_typeof(v_widget->'title') <> 'string' or pg_catalog.length(v_widget->>'title') > 200) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('widget %s: title must be a string of at most 200 characters', pg_catalog.to_json(v_id));
        end if;
        if pg_catalog.jsonb_typeof(v_widget->'chart') is distinct from 'string'
           or v_widget->>'chart' not in ('number', 'bar', 'line', 'pie', 'table', 'kanban') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('widget %s: chart must be one of number, bar, line, pie, table, kanban', pg_catalog.to_json(v_id));
        end if;
        if v_widget->>'chart' = 'kanban' and v_report->>'kind' is distinct from 'kanban' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('widget %s: a kanban chart shows a kanban report, and report %s is of kind %s',
                                            pg_catalog.to_json(v_id), pg_catalog.to_json(v_report->>'slug'), v_report->>'kind');
        end if;
        foreach v_key in array array['x', 'y', 'w', 'h'] loop
            if not docpal_private.whole_number(v_widget->v_key, case when v_key in ('x', 'y') then 0 else 1 end,
                                               case v_key when 'x' then 23 when 'w' then 24 when 'y' then 999 else 100 end) then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('widget %s: %s must be a whole number from %s', pg_catalog.to_json(v_id), v_key,
                                                case v_key when 'x' then '0 to 23' when 'w' then '1 to 24'
                                                           when 'y' then '0 to 999' else '1 to 100' end),
                    hint = 'The grid has 24 columns: x is the first column (0 to 23), w the width in columns, x + w at most 24; y and h count rows.';
            end if;
        end loop;
        if (v_widget->>'x')::integer + (v_widget->>'w')::integer > 24 then
            raise exception using errcode = '22023',
                message = pg_catalog.format('widget %s: x + w must be at most 24 (the grid has 24 columns)', pg_catalog.to_json(v_id));
        end if;
        begin
            v_params := docpal_private.dashboard_params(v_report,
                case when coalesce(v_widget->'params', 'null') = 'null' then '{}' else v_widget->'params' end);
        exception when invalid_parameter_value then
            get stacked diagnostics v_message = message_text;
            raise exception using errcode = '22023', message = pg_catalog.format('widget %s: %s', pg_catalog.to_json(v_id), v_message);
        end;
        v_widgets := v_widgets || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
            'id', v_id,
            'title', coalesce(v_widget->>'title', v_report->>'name'),
            'report', v_widget->'report',
            'params', v_params,
            'chart', v_widget->'chart',
            'x', v_widget->'x', 'y', v_widget->'y', 'w', v_widget->'w', 'h', v_widget->'h'));
    end loop;
    return pg_catalog.jsonb_build_object('slug', p_spec->'slug', 'name', coalesce(p_spec->'name', p_spec->'slug'),
                                         'widgets', v_widgets);
end
$$;
