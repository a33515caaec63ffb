create or replace function docpal_private.default_sql(p_column jsonb)
    returns text
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The SQL of a column's default, or null: a literal cast to the column's
       type, or for date/time/datetime "now", the current date or time. */
    select case
        when not p_column ? 'default' or p_column->'default' = 'null'::jsonb then null
        when p_column->>'type' in ('date', 'time', 'datetime') and p_column->>'default' = 'now'
            then case p_column->>'type' when 'date' then 'current_date'
                                        when 'time' then 'localtime'
                                        else 'pg_catalog.now()' end
        when p_column->>'type' = 'json'
            then pg_catalog.format('%L::jsonb', (p_column->'default')::text)
        when p_column->>'type' = 'multi_select'
            then pg_catalog.format('%L::text[]',
                     array(select pg_catalog.jsonb_array_elements_text(p_column->'default'))::text)
        else pg_catalog.format('%L::%s', p_column->>'default', docpal_private.column_sql_type(p_column))
    end
$$;
