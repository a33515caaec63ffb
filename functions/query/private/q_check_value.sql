create or replace function docpal_private.q_check_value(p_type text, p_values jsonb)
    returns boolean
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether every element of p_values converts to p_type. The common types
   are cast statically (no dynamic statement to plan on every filter); any
   other goes through EXECUTE. */
declare
    v_value text;
    v_type text := p_type;  -- a type name the compiler made (column_sql_type), never user input
begin
    for v_value in select v #>> '{}' from pg_catalog.jsonb_array_elements(p_values) v loop
        case p_type
            when 'text' then null;
            when 'integer' then perform v_value::integer;
            when 'bigint' then perform v_value::bigint;
            when 'smallint' then perform v_value::smallint;
            when 'numeric' then perform v_value::numeric;
            when 'double precision' then perform v_value::double precision;
            when 'boolean' then perform v_value::boolean;
            when 'uuid' then perform v_value::uuid;
            when 'date' then perform v_value::date;
            when 'time without time zone' then perform v_value::time;
            when 'timestamp with time zone' then perform v_value::timestamptz;
            when 'interval' then perform v_value::interval;
            else execute pg_catalog.format('select $1::%s', v_type) using v_value;
        end case;
    end loop;
    return true;
exception when others then
    return false;
end
$$;
