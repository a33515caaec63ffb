-- grant: docpal_service, docpal_app
create or replace function docpal.alter_table(slug text, patch jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Changes a table's name and/or description; returns describe_table.
   22023 for any other key or a value of the wrong kind, 42P01 for an unknown slug. */
declare
    v_ctx record;
    v_spec jsonb;
begin
    perform docpal_private.check_spec_size(alter_table.patch, 'alter_table');
    select * into v_ctx from docpal_private.require_admin();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, alter_table.slug);
    perform docpal_private.check_keys(patch, 'a table patch must be a JSON object', array['name', 'description'],
        '%L cannot be changed by alter_table',
        'alter_table changes name and description; columns have their own functions.');
    if patch ? 'name' and (pg_catalog.jsonb_typeof(patch->'name') <> 'string' or pg_catalog.btrim(patch->>'name') = '')
       or patch ? 'description' and pg_catalog.jsonb_typeof(patch->'description') not in ('string', 'null') then
        raise exception using errcode = '22023', message = 'name is a non-empty string, description a string or null';
    end if;
    perform docpal_private.save_table_spec(v_ctx.schema_name, v_spec || patch);
    perform docpal_private.log_schema_change(v_ctx.schema_name, v_ctx.user_id, alter_table.slug, 'alter_table',
        pg_catalog.jsonb_build_object('name', v_spec->'name', 'description', v_spec->'description'),
        pg_catalog.jsonb_build_object('name', (v_spec || patch)->'name', 'description', (v_spec || patch)->'description'));
    return docpal_private.describe_table(v_ctx.schema_name, alter_table.slug);
end
$$;
