create or replace function docpal_private.type_info(p_type text)
    returns jsonb
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* What a docpal column type is made of: its PostgreSQL type ("sql"),
       the rules it accepts, and whether it can be searchable. Null for an
       unknown type. */
    select (pg_catalog.jsonb_build_object(
        'text',          '{"sql": "text", "rules": ["min_length", "max_length", "pattern"], "text": true}'::jsonb,
        'long_text',     '{"sql": "text", "rules": ["max_length"], "text": true}'::jsonb,
        'rich_text',     '{"sql": "text", "rules": ["max_length"], "text": true}'::jsonb,
        'integer',       '{"sql": "integer", "rules": ["min", "max"]}'::jsonb,
        'bigint',        '{"sql": "bigint", "rules": ["min", "max"]}'::jsonb,
        'decimal',       '{"sql": "numeric", "rules": ["min", "max", "precision", "scale"]}'::jsonb,
        'float',         '{"sql": "double precision", "rules": ["min", "max"]}'::jsonb,
        'currency',      '{"sql": "numeric(19,4)", "rules": ["min", "max", "currency"]}'::jsonb,
        'percent',       '{"sql": "numeric", "rules": ["min", "max"]}'::jsonb,
        'boolean',       '{"sql": "boolean", "rules": []}'::jsonb,
        'date',          '{"sql": "date", "rules": ["min", "max"]}'::jsonb,
        'time',          '{"sql": "time without time zone", "rules": ["min", "max"]}'::jsonb,
        'datetime',      '{"sql": "timestamp with time zone", "rules": ["min", "max"]}'::jsonb,
        'duration',      '{"sql": "interval", "rules": []}'::jsonb,
        'email',         '{"sql": "text", "rules": [], "text": true}'::jsonb,
        'url',           '{"sql": "text", "rules": [], "text": true}'::jsonb,
        'phone',         '{"sql": "text", "rules": [], "text": true}'::jsonb,
        'json',          '{"sql": "jsonb", "rules": [], "text": true}'::jsonb,
        'uuid',          '{"sql": "uuid", "rules": []}'::jsonb,
        'select',        '{"sql": "text", "rules": ["options", "type_list"], "text": true}'::jsonb,
        'multi_select',  '{"sql": "text[]", "rules": ["options", "type_list"], "text": true}'::jsonb,
        'relation',      '{"sql": "uuid", "rules": ["target", "on_delete"]}'::jsonb,
        'relation_many', '{"sql": null, "rules": ["target"]}'::jsonb,
        'user',          '{"sql": "uuid", "rules": []}'::jsonb,
        'file',          '{"sql": "uuid", "rules": []}'::jsonb,
        'autonumber',    '{"sql": "bigint", "rules": ["prefix"]}'::jsonb,
        'rating',        '{"sql": "smallint", "rules": ["max"]}'::jsonb,
        'color',         '{"sql": "text", "rules": [], "text": true}'::jsonb,
        'formula',       '{"sql": null, "rules": ["expression"]}'::jsonb
    ))->p_type
$$;
