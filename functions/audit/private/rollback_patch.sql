create or replace function docpal_private.rollback_patch(p_spec jsonb, p_state jsonb, p_columns text[])
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The update_record patch that puts back the values of p_state (a
   record_state image): the writable data columns (not autonumber or formula;
   relation_many lists included), only p_columns when given, only those the
   image has. 22023 for an empty p_columns or a column that is not writable
   data, 42703 for a name that is not a column. */
declare
    v_writable text[] := array(select c->>'name' from pg_catalog.jsonb_array_elements(p_spec->'columns') c
                                where c->>'type' not in ('autonumber', 'formula'));
    v_column text;
begin
    if p_columns is not null then
        if pg_catalog.cardinality(p_columns) = 0 then
            raise exception using errcode = '22023', message = 'columns, when given, names at least one column';
        end if;
        foreach v_column in array p_columns loop
            if v_column is null or not (v_column = any (v_writable)) then
                if v_column is null
                   or not (v_column = any (docpal_private.system_columns())) then
                    perform docpal_private.column_spec(p_spec, v_column);  -- 42703 when there is none
                end if;
                raise exception using errcode = '22023',
                    message = pg_catalog.format('column %s of table %s is not data that can be rolled back',
                                                v_column, p_spec->>'slug');
            end if;
        end loop;
    end if;
    return coalesce((select pg_catalog.jsonb_object_agg(c, p_state->c)
                       from pg_catalog.unnest(coalesce(p_columns, v_writable)) c
                      where p_state ? c), '{}');
end
$$;
