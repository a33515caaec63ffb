create or replace function docpal_private.filter_conditions(p_spec jsonb)
    returns bigint
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* How many filter conditions a spec holds (docpal_private.check_spec_size
   limits it to 500): the leaves of its filters, having, when and row_filter
   objects, through _and, _or and _not; an operator object counts each
   operator. Breadth first over a work list (appended in place), so
   counting costs what reading does; it stops past 500 (the caller needs no
   more) and below depth 33 (the compiler refuses filters nested deeper
   than 32, and a deeper spec would only be copied once per level). A
   malformed filter counts what it has; the compiler rejects it. */
declare
    v_queue jsonb[] := '{}';
    v_depths integer[] := '{}';
    v_next integer := 1;
    v_filter jsonb;
    v_depth integer;
    v_key text;
    v_value jsonb;
    v_item jsonb;
    v_count bigint := 0;
begin
    if pg_catalog.jsonb_typeof(p_spec) is distinct from 'object' then
        return 0;
    end if;
    foreach v_key in array array['filters', 'having', 'when', 'row_filter'] loop
        if pg_catalog.jsonb_typeof(p_spec->v_key) = 'object' then
            v_queue := pg_catalog.array_append(v_queue, p_spec->v_key);
            v_depths := pg_catalog.array_append(v_depths, 0);
        end if;
    end loop;
    while v_next <= pg_catalog.cardinality(v_queue) and v_count <= 500 loop
        v_filter := v_queue[v_next];
        v_depth := v_depths[v_next];
        v_queue[v_next] := null;  -- done with it: free the copy
        v_next := v_next + 1;
        for v_key, v_value in select e.key, e.value from pg_catalog.jsonb_each(v_filter) e loop
            if v_key in ('_and', '_or', '_not') then
                continue when v_depth >= 33;
                for v_item in select x from pg_catalog.jsonb_array_elements(
                                  case when v_key = '_not' then pg_catalog.jsonb_build_array(v_value)
                                       when pg_catalog.jsonb_typeof(v_value) = 'array' then v_value
                                       else '[]'::jsonb end) x loop
                    if pg_catalog.jsonb_typeof(v_item) = 'object' then
                        v_queue := pg_catalog.array_append(v_queue, v_item);
                        v_depths := pg_catalog.array_append(v_depths, v_depth + 1);
                    end if;
                end loop;
            elsif pg_catalog.jsonb_typeof(v_value) = 'object' then
                v_count := v_count + (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(v_value));
            else
                v_count := v_count + 1;
            end if;
        end loop;
    end loop;
    return v_count;
end
$$;
