-- grant: docpal_service, docpal_app
create or replace function docpal.rename_column(slug text, old_name text, new_name text)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Renames a column; constraints, indexes, the trigger and relations follow
   (PostgreSQL tracks columns by number, so nothing is rebuilt but the
   generated audit capture, whose text names the columns). Returns
   describe_table. 42703 for an unknown column, 42701 when new_name is taken,
   22023 for an invalid or reserved name. A workflow governing the column
   follows it (its state_column becomes new_name). */
declare
    v_ctx record;
    v_spec jsonb;
    v_old jsonb;
    v_new jsonb;
    v_formula jsonb;
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.ddl_begin();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, rename_column.slug);
    v_old := docpal_private.column_spec(v_spec, rename_column.old_name);
    v_new := docpal_private.normalize_column(v_ctx.schema_name,
                 (v_old - 'objects') || pg_catalog.jsonb_build_object('name', rename_column.new_name))
             || pg_catalog.jsonb_build_object('objects', v_old->'objects');
    if exists (select from pg_catalog.jsonb_array_elements(v_spec->'columns') c where c->>'name' = rename_column.new_name) then
        raise exception using errcode = '42701',
            message = pg_catalog.format('table %L already has a column %L', rename_column.slug, rename_column.new_name);
    end if;
    if v_old->>'type' <> 'relation_many' then
        execute pg_catalog.format('alter table %I.%I rename column %I to %I',
                                  v_ctx.schema_name, rename_column.slug, rename_column.old_name, rename_column.new_name);
    end if;
    v_spec := docpal_private.with_column(v_spec, rename_column.old_name, v_new);
    -- formula expressions are kept as written: rename the column in them too
    for v_formula in select c from pg_catalog.jsonb_array_elements(v_spec->'columns') c where c->>'type' = 'formula' loop
        v_spec := docpal_private.with_column(v_spec, v_formula->>'name', v_formula || pg_catalog.jsonb_build_object(
            'expression', pg_catalog.regexp_replace(v_formula->>'expression',
                                                    '[[:<:]]' || rename_column.old_name || '[[:>:]]', rename_column.new_name, 'g')));
    end loop;
    -- the search index follows the column by number; record its new spelling without rebuilding it
    if v_spec ? 'search' then
        v_spec := v_spec || pg_catalog.jsonb_build_object('search', docpal_private.search_sql(v_spec));
    end if;
    -- a workflow's state column: the workflow follows it
    if v_spec ? 'workflows' then
        v_spec := docpal_private.workflow_rename(v_ctx.schema_name, v_spec, rename_column.old_name, rename_column.new_name);
    end if;
    -- the generated audit capture names the columns in its text: make it again
    v_spec := docpal_private.refresh_table(v_ctx.schema_name, v_spec);
    perform docpal_private.save_table_spec(v_ctx.schema_name, v_spec);
    perform docpal_private.log_schema_change(v_ctx.schema_name, v_ctx.user_id, rename_column.slug, 'rename_column', v_old, v_new);
    return docpal_private.describe_table(v_ctx.schema_name, rename_column.slug);
end
$$;
