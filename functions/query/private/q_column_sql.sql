create or replace function docpal_private.q_column_sql(
    p_schema text, p_alias text, p_segment text, p_column jsonb, p_cond text, p_keys_ref text)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The SQL expression of the last segment of a path: column p_segment of row
   p_alias; a relation_many column as the array of its targets (in position
   order); with p_keys_ref (the parameter holding the remaining segments as
   a text[] literal) the json value under those keys (#>). Under a cell
   condition p_cond the expression is null where it does not hold. */
declare
    v_sql text;
begin
    if p_keys_ref is not null then
        v_sql := pg_catalog.format('(%I.%I #> (%s #>> ''{}'')::text[])', p_alias, p_segment, p_keys_ref);
    elsif p_column->>'type' = 'relation_many' and p_column ? '_table' then
        v_sql := pg_catalog.format(
            '(select coalesce(pg_catalog.array_agg(_j.target_id order by _j.position), ''{}'') from %I.%I _j where _j.source_id = %I.id)',
            p_schema, p_column->'objects'->>'junction', p_alias);
    else
        v_sql := pg_catalog.format('%I.%I', p_alias, p_segment);
    end if;
    if p_cond is not null then
        v_sql := pg_catalog.format('(case when %s then %s end)', p_cond, v_sql);
    end if;
    return v_sql;
end
$$;
