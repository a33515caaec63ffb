create or replace function docpal_private.report_params(p_schema text, p_params jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The params of a report being saved, {name: {type, default?, required?,
   label?, description?, view_type?, <rules of the type>}}, each checked as
   a column spec is (docpal_private.normalize_column: the type, its rules,
   select options or type_list) and returned normalized. A name is a column
   name (^[a-z][a-z0-9_]{0,62}$). A default, of any type (null: the param
   is null unless given, for an optional filter), must fit the param as a
   given value must (docpal_private.report_value); it is kept as written,
   so a date's "today" is the day of each run. A formula is refused: its
   type is what its expression makes, per record, so a param could not be
   checked against it (declare the type of the value instead, e.g.
   decimal); autonumber is a bigint param. unique, indexed, searchable and
   on_delete mean nothing for a param and are refused. A relation's target
   must be a table of the company (42P01). 22023 for anything else that is
   wrong, naming the param. Null stands for no params. At most 64 params
   (54000): each is checked here and bound at every run and every widget of
   a dashboard, so their number is what a report costs beyond its query. */
declare
    v_name text;
    v_param jsonb;
    v_col jsonb;
    v_key text;
    v_out jsonb := '{}';
    v_state text;
    v_message text;
    v_count bigint;
begin
    if p_params is null or p_params = 'null'::jsonb then
        return v_out;
    end if;
    if pg_catalog.jsonb_typeof(p_params) <> 'object' then
        raise exception using errcode = '22023', message = 'report params must be a JSON object {name: {type, default}}';
    end if;
    v_count := (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(p_params));
    if v_count > 64 then
        raise exception using errcode = '54000',
            message = pg_catalog.format('report params: %s params, over the limit of 64', v_count);
    end if;
    for v_name, v_param in select e.key, e.value from pg_catalog.jsonb_each(p_params) e order by e.key loop
        if v_name !~ '^[a-z][a-z0-9_]{0,62}$' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('invalid param name %s', pg_catalog.to_json(v_name)),
                hint = 'A param name is a lower-case letter, then up to 62 letters, digits or underscores.';
        end if;
        if pg_catalog.jsonb_typeof(v_param) is distinct from 'object'
           or pg_catalog.jsonb_typeof(v_param->'type') is distinct from 'string' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('param %s: a param is an object with a type', pg_catalog.to_json(v_name));
        end if;
        if v_param->>'type' = 'formula' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('param %s: a formula cannot be a param type', pg_catalog.to_json(v_name)),
                hint = 'A formula''s value is computed per record; give the param the type of that value (decimal, text, ...).';
        end if;
        select k into v_key from pg_catalog.jsonb_object_keys(v_param) k
         where k in ('name', 'unique', 'indexed', 'searchable', 'on_delete') order by k limit 1;
        if v_key is not null then
            raise exception using errcode = '22023',
                message = pg_catalog.format('param %s: %s is not a param key', pg_catalog.to_json(v_name), v_key),
                hint = 'A param takes type, default, required, label, description, view_type and the rules of its type.';
        end if;
        begin
            -- the default apart: a column's default rules are about storage (none
            -- for relation_many or autonumber); a param's is checked as its values are
            v_col := docpal_private.normalize_column(p_schema, v_param - 'default' || '{"name": "v"}');
        exception when invalid_parameter_value or program_limit_exceeded then
            -- its words name a column "v": name the param instead
            get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
            raise exception using errcode = v_state,
                message = pg_catalog.regexp_replace(v_message, '^column v:', pg_catalog.format('param %s:', pg_catalog.to_json(v_name)));
        end;
        v_col := v_col - 'name' - 'on_delete';
        if v_param ? 'default' then
            v_col := v_col || pg_catalog.jsonb_build_object('default', v_param->'default');
        end if;
        if v_col->>'type' in ('relation', 'relation_many') then
            perform docpal_private.table_spec(p_schema, v_col->>'target');
        end if;
        if v_col ? 'default' then
            perform docpal_private.report_value(p_schema, pg_catalog.format('param %s default', pg_catalog.to_json(v_name)),
                                                v_col, v_col->'default');
        end if;
        v_out := v_out || pg_catalog.jsonb_build_object(v_name, v_col);
    end loop;
    return v_out;
end
$$;
