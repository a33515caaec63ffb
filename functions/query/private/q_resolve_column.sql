create or replace function docpal_private.q_resolve_column(
    p_spec jsonb, p_path text, p_table text, p_segment text, p_last boolean)
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* Validation of one segment of path p_path: the column p_segment of table
   p_table (spec p_spec) as {name, type} for a system column (which ends
   the path, but for created_by and updated_by, which lead to the user), or
   its catalog spec plus _table; 42703 when the catalog does not know it. */
declare
    v_column jsonb;
begin
    if p_segment in ('id', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by') then
        if not p_last and p_segment not in ('created_by', 'updated_by') then
            raise exception using errcode = '42703',
                message = pg_catalog.format('path %L: %s is not a relation', p_path, p_segment);
        end if;
        return pg_catalog.jsonb_build_object('name', p_segment, 'type',
            case p_segment when 'version' then 'integer' when 'id' then 'uuid'
                           when 'created_at' then 'datetime' when 'updated_at' then 'datetime' else 'uuid' end);
    end if;
    -- (an expression, not a query: this runs for every condition of a filter)
    v_column := pg_catalog.jsonb_path_query_first(p_spec->'columns', '$[*] ? (@.name == $n)',
                                                  pg_catalog.jsonb_build_object('n', p_segment));
    if v_column is null then
        raise exception using errcode = '42703',
            message = pg_catalog.format('path %L: table %L has no column %L', p_path, p_table, p_segment);
    end if;
    return v_column || pg_catalog.jsonb_build_object('_table', p_table);
end
$$;
