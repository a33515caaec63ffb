create or replace function docpal_private.column_options(p_schema text, p_column jsonb)
    returns text[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The allowed values of a select/multi_select column: its options, or the
   values of its type list (22023 when that list does not exist). */
declare
    v_values jsonb;
begin
    if p_column ? 'options' then
        return array(select pg_catalog.jsonb_array_elements_text(p_column->'options'));
    end if;
    execute pg_catalog.format('select c.spec->''values'' from %I._catalog c where c.kind = $1 and c.slug = $2', p_schema)
       into v_values using 'type_list', p_column->>'type_list';
    if v_values is null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('column %s: type list %L does not exist', p_column->>'name', p_column->>'type_list');
    end if;
    return array(select v->>'value' from pg_catalog.jsonb_array_elements(v_values) v);
end
$$;
