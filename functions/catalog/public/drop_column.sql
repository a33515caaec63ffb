-- grant: docpal_service, docpal_app
create or replace function docpal.drop_column(slug text, column_name text)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Drops a column (a relation_many's junction table with it) and the
   snapshots of the reports that could show it
   (docpal_private.report_forget_table); returns describe_table. 2BP01 when a formula column uses it or a workflow governs
   it, 42703 when unknown. */
declare
    v_ctx record;
    v_spec jsonb;
    v_old jsonb;
    v_users text;
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.ddl_begin();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, drop_column.slug);
    v_old := docpal_private.column_spec(v_spec, drop_column.column_name);
    select pg_catalog.string_agg(c->>'name', ', ') into v_users
      from pg_catalog.jsonb_array_elements(v_spec->'columns') c
     where c->>'type' = 'formula' and c->>'expression' ~ ('[[:<:]]' || drop_column.column_name || '[[:>:]]');
    if v_users is not null then
        raise exception using errcode = '2BP01',
            message = pg_catalog.format('column %s.%s cannot be dropped: formula %s uses it',
                                        drop_column.slug, drop_column.column_name, v_users);
    end if;
    perform docpal_private.workflow_guard(v_ctx.schema_name, v_spec, drop_column.column_name, null);
    -- reports' stored results may hold its values (while the catalog still links the table)
    perform docpal_private.report_forget_table(v_ctx.schema_name, drop_column.slug);
    perform docpal_private.detach_table(v_ctx.schema_name, drop_column.slug);
    if v_old->>'type' = 'relation_many' then
        execute pg_catalog.format('drop table if exists %I.%I', v_ctx.schema_name, v_old->'objects'->>'junction');
    else
        execute pg_catalog.format('alter table %I.%I drop column %I',
                                  v_ctx.schema_name, drop_column.slug, drop_column.column_name);
    end if;
    v_spec := docpal_private.refresh_table(v_ctx.schema_name,
                                           docpal_private.with_column(v_spec, drop_column.column_name, null));
    perform docpal_private.save_table_spec(v_ctx.schema_name, v_spec);
    perform docpal_private.log_schema_change(v_ctx.schema_name, v_ctx.user_id, drop_column.slug, 'drop_column', v_old, null);
    return docpal_private.describe_table(v_ctx.schema_name, drop_column.slug);
end
$$;
