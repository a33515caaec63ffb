create or replace function docpal_private.report_bind(p_report jsonb, p_params jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set "TimeZone" = 'UTC'
    set "IntervalStyle" = 'postgres'
    set extra_float_digits = 1
as $$
/* The params of one run of report p_report (its _reports row as jsonb,
   docpal_private.report_get) given p_params ({name: value}; null as {}):
   every param the report declares, with the value given or else its
   default, each checked and normalized as docpal_private.report_value
   does (report_convert, under report_value's settings, made once here).
   22023 when p_params is not an object, names a param the report does not
   declare, or leaves out one without a default, or for a value that does
   not fit (the message names the param:
   param "day": ...). The company is the one in context (a run is always
   under one), whose type lists and time zone the values are read with. */
declare
    v_schema text;
    v_given jsonb := coalesce(p_params, '{}');
    v_declared jsonb := coalesce(p_report->'params', '{}');
    v_key text;
    v_param jsonb;
    v_out jsonb := '{}';
begin
    if pg_catalog.jsonb_typeof(v_given) <> 'object' then
        raise exception using errcode = '22023', message = 'report params must be a JSON object {name: value}';
    end if;
    select k into v_key from pg_catalog.jsonb_object_keys(v_given) k where not v_declared ? k order by k limit 1;
    if v_key is not null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('param %s: report %s has no such param', pg_catalog.to_json(v_key),
                                        pg_catalog.to_json(p_report->>'slug'));
    end if;
    if v_declared = '{}'::jsonb then
        return v_out;
    end if;
    select c.schema_name into v_schema
      from docpal_private.companies c where c.id = (select x.company_id from docpal_private.context() x);
    if exists (select from pg_catalog.jsonb_each(v_declared) e where e.value->>'type' in ('date', 'time', 'datetime')) then
        -- once for every param (docpal_private.report_value's settings; reverted on return by the SET clauses)
        perform pg_catalog.set_config('TimeZone', docpal_private.company_time_zone(v_schema), true);
    end if;
    for v_key, v_param in select e.key, e.value from pg_catalog.jsonb_each(v_declared) e order by e.key loop
        if not v_given ? v_key and not v_param ? 'default' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('param %s is missing (it has no default)', pg_catalog.to_json(v_key));
        end if;
        v_out := v_out || pg_catalog.jsonb_build_object(v_key, docpal_private.report_convert(
            v_schema, pg_catalog.format('param %s', pg_catalog.to_json(v_key)), v_param,
            case when v_given ? v_key then v_given->v_key else v_param->'default' end));
    end loop;
    return v_out;
end
$$;
