create or replace function docpal_private.report_substitute_at(p_value jsonb, p_params jsonb, p_depth integer)
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The work of docpal_private.report_substitute: p_value, at nesting level
   p_depth of the spec (the spec itself is level 1), with its "$param.<name>"
   strings replaced by p_params' values; the caller has found "$param." in
   its text. It goes down only into the values whose text holds "$param.",
   so the spec is walked along the paths to its params and nowhere else
   (a value without one is kept as it is), and at most 64 levels deep
   (54000 below that): the search of each level is bounded, and a hostile
   spec nested thousands of levels gets a contract error, not the server's
   stack depth error (54001). 22023 for a name p_params does not hold. */
declare
    v_name text;
begin
    case pg_catalog.jsonb_typeof(p_value)
        when 'object', 'array' then
            if p_depth > 64 then
                raise exception using errcode = '54000',
                    message = 'the report spec holds "$param." nested more than 64 levels deep, the limit';
            end if;
            if pg_catalog.jsonb_typeof(p_value) = 'object' then
                return (select pg_catalog.jsonb_object_agg(e.key,
                                   case when pg_catalog.strpos(e.value::text, '"$param.') = 0 then e.value
                                        else docpal_private.report_substitute_at(e.value, p_params, p_depth + 1) end)
                          from pg_catalog.jsonb_each(p_value) e);
            end if;
            return (select pg_catalog.jsonb_agg(
                               case when pg_catalog.strpos(e.value::text, '"$param.') = 0 then e.value
                                    else docpal_private.report_substitute_at(e.value, p_params, p_depth + 1) end
                               order by e.n)
                      from pg_catalog.jsonb_array_elements(p_value) with ordinality e(value, n));
        when 'string' then
            if not pg_catalog.starts_with(p_value #>> '{}', '$param.') then
                return p_value;  -- a quote inside another string
            end if;
            v_name := pg_catalog.substr(p_value #>> '{}', 8);
            if not p_params ? v_name then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('the report spec names param %s, which the report does not declare',
                                                pg_catalog.to_json(v_name)),
                    hint = 'Declare it in params: {"params": {"name": {"type": ...}}}.';
            end if;
            return p_params->v_name;
        else
            return p_value;
    end case;
end
$$;
