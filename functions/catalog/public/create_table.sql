-- grant: docpal_service, docpal_app
create or replace function docpal.create_table(spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Creates table <company schema>.<slug> with the system columns and the
   columns of the spec; returns describe_table. Every column spec is checked
   before any DDL runs (22023; 42701 for a name given twice; 42P01 for an
   unknown relation target); 42P07 when the slug is taken; 53400 past the
   company's max_tables quota. */
declare
    v_ctx record;
    v_slug text := spec->>'slug';
    v_column jsonb;
    v_columns jsonb := '[]';
    v_applied jsonb := '{}';
    v_table jsonb;
    v_comment text;
begin
    perform docpal_private.check_spec_size(create_table.spec, 'create_table');
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.ddl_begin();
    perform docpal_private.check_keys(spec, 'a table spec must be a JSON object',
                                      array['slug', 'name', 'description', 'columns'], 'unknown key %L in table spec');
    if pg_catalog.jsonb_typeof(spec->'slug') is distinct from 'string' or v_slug !~ '^[a-z][a-z0-9_]{0,62}$' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('invalid table slug %L', coalesce(spec->>'slug', 'null')),
            hint = 'A slug is a lower-case letter, then up to 62 letters, digits or underscores.';
    end if;
    if spec ? 'name' and (pg_catalog.jsonb_typeof(spec->'name') <> 'string' or pg_catalog.btrim(spec->>'name') = '')
       or spec ? 'description' and pg_catalog.jsonb_typeof(spec->'description') not in ('string', 'null')
       or spec ? 'columns' and pg_catalog.jsonb_typeof(spec->'columns') <> 'array' then
        raise exception using errcode = '22023',
            message = 'a table spec has a non-empty string name, a string description and an array of columns';
    end if;
    if pg_catalog.to_regclass(pg_catalog.format('%I.%I', v_ctx.schema_name, v_slug)) is not null then
        raise exception using errcode = '42P07', message = pg_catalog.format('table %L already exists', v_slug);
    end if;

    for v_column in select c from pg_catalog.jsonb_array_elements(coalesce(spec->'columns', '[]')) c loop
        v_column := docpal_private.normalize_column(v_ctx.schema_name, v_column);
        if exists (select from pg_catalog.jsonb_array_elements(v_columns) c where c->>'name' = v_column->>'name') then
            raise exception using errcode = '42701',
                message = pg_catalog.format('column %L is given twice', v_column->>'name');
        end if;
        v_columns := v_columns || v_column;
    end loop;
    perform docpal_private.check_targets(v_ctx.schema_name, v_slug, v_columns);
    perform docpal_private.quota_check(v_ctx.schema_name, p_tables => 1);  -- 53400 past max_tables

    execute pg_catalog.format(
        'create table %I.%I (
            id         uuid primary key default pg_catalog.gen_random_uuid(),
            version    integer not null default 1,
            created_at timestamptz not null default pg_catalog.now(),
            updated_at timestamptz not null default pg_catalog.now(),
            created_by uuid,
            updated_by uuid)', v_ctx.schema_name, v_slug);
    v_comment := 'docpal table: ' || coalesce(spec->>'name', v_slug);
    execute pg_catalog.format('comment on table %I.%I is %L', v_ctx.schema_name, v_slug, v_comment);
    -- formulas last: they may use any other column of the table
    for v_column in
        select c from pg_catalog.jsonb_array_elements(v_columns) with ordinality x(c, o)
         order by (c->>'type' = 'formula'), o
    loop
        v_applied := v_applied || pg_catalog.jsonb_build_object(v_column->>'name',
            docpal_private.apply_column(v_ctx.schema_name, v_slug, null, v_column));
    end loop;
    v_table := pg_catalog.jsonb_build_object(
        'slug', v_slug,
        'name', coalesce(spec->>'name', v_slug),
        'description', spec->'description',
        'columns', coalesce((select pg_catalog.jsonb_agg(v_applied->(c->>'name') order by o)
                               from pg_catalog.jsonb_array_elements(v_columns) with ordinality x(c, o)), '[]'));
    v_table := docpal_private.refresh_table(v_ctx.schema_name, v_table);
    perform docpal_private.save_table_spec(v_ctx.schema_name, v_table);
    perform docpal_private.log_schema_change(v_ctx.schema_name, v_ctx.user_id, v_slug, 'create_table', null, v_table);
    return docpal_private.describe_table(v_ctx.schema_name, v_slug);
end
$$;
