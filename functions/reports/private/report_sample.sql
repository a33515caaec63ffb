create or replace function docpal_private.report_sample(p_schema text, p_params jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Values for the params p_params (as docpal_private.report_params
   normalizes them) with which save_report checks a report's spec: each
   param's default as a run binds it, or for a param without one a value
   of its type (its min or else 1 for numbers, its first option for a
   select, a fixed date, time, uuid, ...; null for json), which is all the
   query compiler looks at (the kind of a value, not the value). */
declare
    v_name text;
    v_param jsonb;
    v_type text;
    v_first text;
    v_out jsonb := '{}';
begin
    for v_name, v_param in select e.key, e.value from pg_catalog.jsonb_each(p_params) e loop
        v_type := v_param->>'type';
        if v_param ? 'default' then
            v_out := v_out || pg_catalog.jsonb_build_object(v_name, docpal_private.report_value(
                p_schema, pg_catalog.format('param %s default', pg_catalog.to_json(v_name)), v_param, v_param->'default'));
            continue;
        end if;
        if v_type in ('select', 'multi_select') then
            v_first := (docpal_private.column_options(p_schema, v_param || '{"name": "v"}'))[1];
        end if;
        v_out := v_out || pg_catalog.jsonb_build_object(v_name, case
            when v_type in ('integer', 'bigint', 'decimal', 'float', 'currency', 'percent', 'autonumber', 'rating')
                then coalesce(v_param->'min', case when (v_param->>'max')::numeric < 1 then v_param->'max' end, '1')
            when v_type = 'boolean' then 'true'
            when v_type = 'date' then '"2000-01-01"'
            when v_type = 'time' then '"00:00:00"'
            when v_type = 'datetime' then '"2000-01-01T00:00:00+00:00"'
            when v_type = 'duration' then '"1 day"'
            when v_type in ('uuid', 'user', 'file', 'relation') then '"00000000-0000-0000-0000-000000000000"'
            when v_type = 'relation_many' then '[]'
            when v_type = 'select' then pg_catalog.to_jsonb(v_first)
            when v_type = 'multi_select' then pg_catalog.jsonb_build_array(v_first)
            when v_type = 'email' then '"someone@example.com"'
            when v_type = 'url' then '"https://example.com"'
            when v_type = 'phone' then '"+1 555 0100"'
            when v_type = 'color' then '"#000000"'
            when v_type = 'json' then 'null'
            else '"x"' end::jsonb);
    end loop;
    return v_out;
end
$$;
