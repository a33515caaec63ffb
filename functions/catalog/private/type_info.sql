create or replace function docpal_private.type_info(p_type text)
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* What a docpal column type is made of: its PostgreSQL type ("sql"), the
   rules it accepts, and whether it can be searchable ("text"). Null for an
   unknown type. (PL/pgSQL: called for every column and filter, its plan is
   kept for the session.) */
begin
    return case p_type
        when 'text' then '{"sql": "text", "rules": ["min_length", "max_length", "pattern"], "text": true}'
        when 'long_text' then '{"sql": "text", "rules": ["max_length"], "text": true}'
        when 'rich_text' then '{"sql": "text", "rules": ["max_length"], "text": true}'
        when 'integer' then '{"sql": "integer", "rules": ["min", "max"]}'
        when 'bigint' then '{"sql": "bigint", "rules": ["min", "max"]}'
        when 'decimal' then '{"sql": "numeric", "rules": ["min", "max", "precision", "scale"]}'
        when 'float' then '{"sql": "double precision", "rules": ["min", "max"]}'
        when 'currency' then '{"sql": "numeric(19,4)", "rules": ["min", "max", "currency"]}'
        when 'percent' then '{"sql": "numeric", "rules": ["min", "max"]}'
        when 'boolean' then '{"sql": "boolean", "rules": []}'
        when 'date' then '{"sql": "date", "rules": ["min", "max"]}'
        when 'time' then '{"sql": "time without time zone", "rules": ["min", "max"]}'
        when 'datetime' then '{"sql": "timestamp with time zone", "rules": ["min", "max"]}'
        when 'duration' then '{"sql": "interval", "rules": []}'
        when 'email' then '{"sql": "text", "rules": [], "text": true}'
        when 'url' then '{"sql": "text", "rules": [], "text": true}'
        when 'phone' then '{"sql": "text", "rules": [], "text": true}'
        when 'json' then '{"sql": "jsonb", "rules": [], "text": true}'
        when 'uuid' then '{"sql": "uuid", "rules": []}'
        when 'select' then '{"sql": "text", "rules": ["options", "type_list"], "text": true}'
        when 'multi_select' then '{"sql": "text[]", "rules": ["options", "type_list"], "text": true}'
        when 'relation' then '{"sql": "uuid", "rules": ["target", "on_delete"]}'
        when 'relation_many' then '{"sql": null, "rules": ["target"]}'
        when 'user' then '{"sql": "uuid", "rules": []}'
        when 'file' then '{"sql": "uuid", "rules": []}'
        when 'autonumber' then '{"sql": "bigint", "rules": ["prefix"]}'
        when 'rating' then '{"sql": "smallint", "rules": ["max"]}'
        when 'color' then '{"sql": "text", "rules": [], "text": true}'
        when 'formula' then '{"sql": null, "rules": ["expression"]}'
    end::jsonb;
end
$$;
