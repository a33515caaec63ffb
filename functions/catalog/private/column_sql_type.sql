create or replace function docpal_private.column_sql_type(p_column jsonb)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The PostgreSQL type of a (normalized) column; null for relation_many and
   formula (whose type PostgreSQL infers). */
begin
    return case
        when p_column->>'type' = 'decimal' and p_column ? 'precision'
            then pg_catalog.format('numeric(%s,%s)', (p_column->>'precision')::integer,
                                   coalesce((p_column->>'scale')::integer, 0))
        else docpal_private.type_info(p_column->>'type')->>'sql'
    end;
end
$$;
