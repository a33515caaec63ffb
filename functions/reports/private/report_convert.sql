create or replace function docpal_private.report_convert(p_schema text, p_label text, p_param jsonb, p_value jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The work of docpal_private.report_value (read its comment) without
   its settings: dates and times are read in the session's TimeZone and
   written with its IntervalStyle and extra_float_digits, which the caller
   sets (report_value for one value; report_bind once for every param of a
   run, where a SET clause and a zone lookup per param cost a tenth of a
   millisecond each). */
declare
    v_type text := p_param->>'type';
    v_col jsonb := p_param || '{"name": "v"}';
    v_kind text := pg_catalog.jsonb_typeof(p_value);
    v_sql_type text;
    v_checks text;
    v_value jsonb;
    v_failed text;
begin
    if v_kind is null or v_kind = 'null' then
        if (p_param->>'required')::boolean then
            raise exception using errcode = '22023', message = pg_catalog.format('%s is required', p_label);
        end if;
        return 'null';
    end if;
    v_sql_type := case when v_type = 'relation_many' then 'uuid[]' else docpal_private.column_sql_type(v_col) end;
    if v_sql_type is null then
        raise exception using errcode = '22023', message = pg_catalog.format('%s: a %s is no param type', p_label, v_type);
    end if;
    if v_type in ('multi_select', 'relation_many') and v_kind <> 'array' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s is not a %s', p_label, pg_catalog.left(p_value::text, 100), v_type),
            hint = 'A list param takes a JSON array.';
    end if;
    if v_type not in ('multi_select', 'relation_many', 'json') and v_kind in ('array', 'object') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s is not a %s', p_label, pg_catalog.left(p_value::text, 100), v_type);
    end if;
    select pg_catalog.string_agg(pg_catalog.format('case when not coalesce(%s, true) then %L end', c.expression, c.rule), ', ')
      into v_checks
      from docpal_private.column_checks(p_schema, v_col) c;
    begin
        execute pg_catalog.format(
            'select pg_catalog.to_jsonb(_t.v), (pg_catalog.array_remove(array[%s]::text[], null))[1]
               from pg_catalog.jsonb_to_record($1) as _t(v %s)', coalesce(v_checks, ''), v_sql_type)
           into v_value, v_failed using pg_catalog.jsonb_build_object('v', p_value);
    exception when data_exception then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s is not a %s', p_label, pg_catalog.left(p_value::text, 100), v_type);
    end;
    if v_failed is not null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s breaks rule %s', p_label, pg_catalog.left(p_value::text, 100), v_failed);
    end if;
    return v_value;
end
$$;
