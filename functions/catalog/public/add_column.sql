-- grant: docpal_service, docpal_app
create or replace function docpal.add_column(slug text, "column" jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Adds a column; returns describe_table. Without a default, or with a
   constant one, the table is not rewritten. 22023 for a bad spec, 42701 when
   the name is taken, 42P01 for an unknown table or relation target, 23502
   for a required column without default on a table with rows. */
declare
    v_ctx record;
    v_spec jsonb;
    v_new jsonb;
begin
    perform docpal_private.check_spec_size(add_column."column", 'add_column');
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.ddl_begin();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, add_column.slug);
    v_new := docpal_private.normalize_column(v_ctx.schema_name, add_column."column");
    if exists (select from pg_catalog.jsonb_array_elements(v_spec->'columns') c where c->>'name' = v_new->>'name') then
        raise exception using errcode = '42701',
            message = pg_catalog.format('table %L already has a column %L', add_column.slug, v_new->>'name');
    end if;
    perform docpal_private.check_targets(v_ctx.schema_name, add_column.slug, pg_catalog.jsonb_build_array(v_new));
    perform docpal_private.detach_table(v_ctx.schema_name, add_column.slug);
    v_new := docpal_private.apply_column(v_ctx.schema_name, add_column.slug, null, v_new);
    v_spec := docpal_private.refresh_table(v_ctx.schema_name, docpal_private.with_column(v_spec, v_new->>'name', v_new));
    perform docpal_private.save_table_spec(v_ctx.schema_name, v_spec);
    perform docpal_private.log_schema_change(v_ctx.schema_name, v_ctx.user_id, add_column.slug, 'add_column', null, v_new);
    return docpal_private.describe_table(v_ctx.schema_name, add_column.slug);
end
$$;
