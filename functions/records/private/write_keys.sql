create or replace function docpal_private.write_keys(p_spec jsonb, p_data jsonb, p_allow_id boolean)
    returns table (key text, many boolean)
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The keys of a record write, each a writable column (many: a relation_many
   column). 22023 when p_data is not an object or names a read-only column
   (system columns but a new record's id, autonumber, formula); 42703 for a
   key that is no column. */
declare
    v_type text;
begin
    if p_data is null or pg_catalog.jsonb_typeof(p_data) <> 'object' then
        raise exception using errcode = '22023', message = 'a record must be a JSON object';
    end if;
    for key in select k from pg_catalog.jsonb_object_keys(p_data) k loop
        if key = 'id' and p_allow_id then
            many := false;
            return next;
            continue;
        end if;
        if key = any (docpal_private.system_columns()) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s.%s is a system column and cannot be written', p_spec->>'slug', key);
        end if;
        select c->>'type' into v_type from pg_catalog.jsonb_array_elements(p_spec->'columns') c where c->>'name' = key;
        if v_type is null then
            raise exception using errcode = '42703',
                message = pg_catalog.format('table %L has no column %L', p_spec->>'slug', key);
        end if;
        if v_type in ('autonumber', 'formula') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s.%s is a %s column and cannot be written', p_spec->>'slug', key, v_type);
        end if;
        many := v_type = 'relation_many';
        return next;
    end loop;
end
$$;
