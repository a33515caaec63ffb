-- grant: docpal_service, docpal_app
create or replace function docpal.create_type_list(slug text, "values" jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* A named list of options for select and multi_select columns; returns
   {slug, values: [{value, label, color}]}. 22023 for bad values, 42710 when
   the slug is taken. */
declare
    v_ctx record;
    v_list jsonb;
begin
    perform docpal_private.check_spec_size(create_type_list."values", 'create_type_list');
    select * into v_ctx from docpal_private.require_admin();
    v_list := docpal_private.normalize_type_list(create_type_list.slug, create_type_list."values");
    begin
        execute pg_catalog.format('insert into %I._catalog (kind, slug, spec) values ($1, $2, $3)', v_ctx.schema_name)
          using 'type_list', create_type_list.slug, v_list;
    exception when unique_violation then
        raise exception using errcode = '42710',
            message = pg_catalog.format('type list %L already exists', create_type_list.slug);
    end;
    return v_list;
end
$$;
