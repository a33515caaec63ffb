create or replace function docpal_private.normalize_column(p_schema text, p_column jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Validates a column spec and returns it in canonical form (defaults filled
   in: on_delete, rating max). Everything wrong with it is 22023, raised
   before any DDL runs. Relation targets are checked by the caller, which
   knows the table being created. */
declare
    v_name text := p_column->>'name';
    v_type text := p_column->>'type';
    v_info jsonb;
    v_sql_type text;
    v_key text;
    v_col jsonb;
    v_options text[];
    v_ok boolean;
    v_default_sql text;
begin
    if p_column is null or pg_catalog.jsonb_typeof(p_column) <> 'object' then
        raise exception using errcode = '22023', message = 'a column spec must be a JSON object';
    end if;
    if pg_catalog.jsonb_typeof(p_column->'name') is distinct from 'string' or v_name !~ '^[a-z][a-z0-9_]{0,62}$' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('invalid column name %L', coalesce(p_column->>'name', 'null')),
            hint = 'A column name is a lower-case letter, then up to 62 letters, digits or underscores.';
    end if;
    if v_name = any (docpal_private.system_columns()) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('column name %L is reserved for a system column', v_name);
    end if;
    v_info := docpal_private.type_info(v_type);
    if v_info is null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('column %s: unknown type %L', v_name, coalesce(v_type, 'null'));
    end if;
    v_col := p_column - 'objects';
    for v_key in select k from pg_catalog.jsonb_object_keys(v_col) k loop
        if v_key not in ('name', 'type', 'required', 'unique', 'default', 'indexed', 'searchable',
                         'label', 'description', 'view_type')
           and not (v_info->'rules') ? v_key then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: %L is not a rule of type %s', v_name, v_key, v_type);
        end if;
    end loop;
    -- drop keys set to null: "no such rule"
    v_col := (select coalesce(pg_catalog.jsonb_object_agg(e.key, e.value), '{}')
                from pg_catalog.jsonb_each(v_col) e where e.value <> 'null'::jsonb);

    foreach v_key in array array['required', 'unique', 'indexed', 'searchable'] loop
        if v_col ? v_key and pg_catalog.jsonb_typeof(v_col->v_key) <> 'boolean' then
            raise exception using errcode = '22023', message = pg_catalog.format('column %s: %s must be true or false', v_name, v_key);
        end if;
    end loop;
    foreach v_key in array array['label', 'description', 'view_type', 'prefix', 'currency', 'pattern',
                                 'type_list', 'target', 'on_delete', 'expression'] loop
        if v_col ? v_key and pg_catalog.jsonb_typeof(v_col->v_key) <> 'string' then
            raise exception using errcode = '22023', message = pg_catalog.format('column %s: %s must be a string', v_name, v_key);
        end if;
    end loop;
    foreach v_key in array array['min_length', 'max_length', 'precision', 'scale'] loop
        if v_col ? v_key and not docpal_private.whole_number(v_col->v_key, 0) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: %s must be a whole number of at least 0', v_name, v_key);
        end if;
    end loop;
    if (v_col->>'min_length')::integer > (v_col->>'max_length')::integer then
        raise exception using errcode = '22023', message = pg_catalog.format('column %s: min_length is above max_length', v_name);
    end if;
    if v_col ? 'scale' and not v_col ? 'precision' then
        raise exception using errcode = '22023', message = pg_catalog.format('column %s: scale needs a precision', v_name);
    end if;
    if (v_col->>'precision')::integer not between 1 and 1000 or (v_col->>'scale')::integer > (v_col->>'precision')::integer then
        raise exception using errcode = '22023',
            message = pg_catalog.format('column %s: precision must be 1 to 1000 and scale at most the precision', v_name);
    end if;
    if v_col ? 'currency' and v_col->>'currency' !~ '^[A-Z]{3}$' then
        raise exception using errcode = '22023', message = pg_catalog.format('column %s: currency must be an ISO 4217 code', v_name);
    end if;
    if v_col ? 'pattern' then
        -- a pattern is matched against every value written: bounded in size,
        -- and without back references, which can make matching take
        -- exponential time (contract section 9)
        if pg_catalog.length(v_col->>'pattern') > 1000 then
            raise exception using errcode = '54000',
                message = pg_catalog.format('column %s: pattern is %s characters, over the limit of 1,000',
                                            v_name, pg_catalog.length(v_col->>'pattern'));
        end if;
        if docpal_private.pattern_has_back_reference(v_col->>'pattern') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: pattern may not use a back reference (\1 to \9)', v_name);
        end if;
        begin
            v_ok := '' ~ (v_col->>'pattern');
        exception when invalid_regular_expression then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: invalid pattern %L: %s', v_name, v_col->>'pattern', sqlerrm);
        end;
    end if;

    v_sql_type := docpal_private.column_sql_type(v_col);
    if v_type = 'rating' then
        if v_col ? 'max' and not docpal_private.whole_number(v_col->'max', 1, 100) then
            raise exception using errcode = '22023', message = pg_catalog.format('column %s: a rating max is 1 to 100', v_name);
        end if;
        v_col := v_col || pg_catalog.jsonb_build_object('max', coalesce((v_col->>'max')::integer, 5));
    else
        foreach v_key in array array['min', 'max'] loop
            continue when not v_col ? v_key;
            begin
                execute pg_catalog.format('select %L::%s', v_col->>v_key, v_sql_type);
            exception when others then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('column %s: %s %s is not a %s', v_name, v_key, v_col->>v_key, v_type);
            end;
        end loop;
        if v_col ? 'min' and v_col ? 'max' then
            execute pg_catalog.format('select %L::%s <= %L::%s', v_col->>'min', v_sql_type, v_col->>'max', v_sql_type) into v_ok;
            if not v_ok then
                raise exception using errcode = '22023', message = pg_catalog.format('column %s: min is above max', v_name);
            end if;
        end if;
    end if;

    if v_type in ('select', 'multi_select') then
        if (v_col ? 'options') = (v_col ? 'type_list') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: a %s column needs options or a type_list (one of them)', v_name, v_type);
        end if;
        if v_col ? 'options' and (pg_catalog.jsonb_typeof(v_col->'options') <> 'array'
               or pg_catalog.jsonb_array_length(v_col->'options') = 0
               or exists (select from pg_catalog.jsonb_array_elements(v_col->'options') o
                           where pg_catalog.jsonb_typeof(o) <> 'string' or o #>> '{}' = '')
               or (select pg_catalog.count(distinct o) <> pg_catalog.count(*)
                     from pg_catalog.jsonb_array_elements(v_col->'options') o)) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: options must be a non-empty array of distinct strings', v_name);
        end if;
        v_options := docpal_private.column_options(p_schema, v_col);
    end if;

    if v_type in ('relation', 'relation_many') then
        if not v_col ? 'target' or v_col->>'target' !~ '^[a-z][a-z0-9_]{0,62}$' then
            raise exception using errcode = '22023', message = pg_catalog.format('column %s: a %s needs a target table', v_name, v_type);
        end if;
    end if;
    if v_type = 'relation' then
        v_col := v_col || pg_catalog.jsonb_build_object('on_delete', coalesce(v_col->>'on_delete', 'restrict'));
        if v_col->>'on_delete' not in ('restrict', 'set_null', 'cascade') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: on_delete is restrict, set_null or cascade', v_name);
        end if;
        if v_col->>'on_delete' = 'set_null' and (v_col->>'required')::boolean then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: a required relation cannot be set to null on delete', v_name);
        end if;
    end if;
    if v_type = 'formula' and not v_col ? 'expression' then
        raise exception using errcode = '22023', message = pg_catalog.format('column %s: a formula needs an expression', v_name);
    end if;
    if v_type in ('relation_many', 'formula', 'autonumber') and v_col ? 'default' then
        raise exception using errcode = '22023', message = pg_catalog.format('column %s: a %s column takes no default', v_name, v_type);
    end if;
    if v_type = 'relation_many' and (v_col ? 'required' or v_col ? 'unique' or v_col ? 'indexed') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('column %s: a relation_many takes no required, unique or indexed', v_name);
    end if;
    if (v_col->>'searchable')::boolean and not coalesce((v_info->>'text')::boolean, false) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('column %s: only text-like columns can be searchable, not %s', v_name, v_type);
    end if;

    if v_col ? 'default' then
        begin
            v_default_sql := docpal_private.default_sql(v_col);
            execute pg_catalog.format('select %s', v_default_sql);
        exception when others then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: default %s is not a %s', v_name, v_col->'default', v_type);
        end;
        if v_type = 'select' and (v_col->>'default') <> all (v_options)
           or v_type = 'multi_select' and not array(select pg_catalog.jsonb_array_elements_text(v_col->'default')) <@ v_options then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: default %s is not among the options', v_name, v_col->'default');
        end if;
    end if;
    return v_col;
end
$$;
