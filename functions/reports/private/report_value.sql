create or replace function docpal_private.report_value(p_schema text, p_label text, p_param jsonb, p_value jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set "TimeZone" = 'UTC'
    set "IntervalStyle" = 'postgres'
    set extra_float_digits = 1
as $$
/* Value p_value of a report param declared as p_param (a column spec as
   docpal_private.report_params normalizes it), checked and normalized the
   way a record write checks a value of such a column: converted to the
   column's PostgreSQL type as jsonb_populate_record converts a record's
   value (docpal_private.column_sql_type), then held to the column's rules
   (docpal_private.column_checks: min, max, lengths, pattern, the format of
   email/url/phone/color, select options and type lists, a rating's 0..max).
   Returns the value as the type's JSON (numbers as numbers, a datetime with
   its offset); null for a JSON null unless the param is required. Dates and
   times are read in the company's time zone ("today", a datetime without
   an offset); a list type (multi_select, relation_many) takes an array, a
   json param anything, every other type a scalar. Ids (user, file,
   relation, relation_many, uuid) are checked as uuids, not looked up: a
   param only filters. 22023 naming p_label (param "x") for anything that
   does not fit. Output does not depend on the session's TimeZone,
   IntervalStyle or extra_float_digits (set here; the conversion itself is
   docpal_private.report_convert). */
begin
    if p_param->>'type' in ('date', 'time', 'datetime') then
        -- reverted when the function returns (its SET clause)
        perform pg_catalog.set_config('TimeZone', docpal_private.company_time_zone(p_schema), true);
    end if;
    return docpal_private.report_convert(p_schema, p_label, p_param, p_value);
end
$$;
