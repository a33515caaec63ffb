-- grant: docpal_service, docpal_app
create or replace function docpal.alter_column(slug text, column_name text, patch jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Merges patch into the column's spec (a key set to null removes that rule)
   and brings the table to it; returns describe_table. A type change
   converts the data (22P02/22007/22008 naming the value that does not
   convert; 23514 when converted values break a rule); either way nothing
   changes on failure. 42703 for an unknown column; 2BP01 when a workflow
   governs the column and it would stop being a select column or lose one of
   the workflow's states. */
declare
    v_ctx record;
    v_spec jsonb;
    v_old jsonb;
    v_new jsonb;
begin
    perform docpal_private.check_spec_size(alter_column.patch, 'alter_column');
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.ddl_begin();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, alter_column.slug);
    v_old := docpal_private.column_spec(v_spec, alter_column.column_name);
    if patch is null or pg_catalog.jsonb_typeof(patch) <> 'object' then
        raise exception using errcode = '22023', message = 'a column patch must be a JSON object';
    end if;
    if patch ? 'name' and patch->>'name' is distinct from alter_column.column_name then
        raise exception using errcode = '22023', message = 'use rename_column to rename a column';
    end if;
    v_new := docpal_private.normalize_column(v_ctx.schema_name, (v_old - 'objects') || patch);
    if v_new = v_old - 'objects' then
        return docpal_private.describe_table(v_ctx.schema_name, alter_column.slug);  -- nothing to do
    end if;
    perform docpal_private.check_targets(v_ctx.schema_name, alter_column.slug, pg_catalog.jsonb_build_array(v_new));
    perform docpal_private.workflow_guard(v_ctx.schema_name, v_spec, alter_column.column_name, v_new);
    perform docpal_private.detach_table(v_ctx.schema_name, alter_column.slug);
    v_new := docpal_private.apply_column(v_ctx.schema_name, alter_column.slug, v_old, v_new);
    v_spec := docpal_private.refresh_table(v_ctx.schema_name, docpal_private.with_column(v_spec, v_new->>'name', v_new));
    perform docpal_private.save_table_spec(v_ctx.schema_name, v_spec);
    perform docpal_private.log_schema_change(v_ctx.schema_name, v_ctx.user_id, alter_column.slug, 'alter_column', v_old, v_new);
    return docpal_private.describe_table(v_ctx.schema_name, alter_column.slug);
end
$$;
