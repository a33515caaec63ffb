-- grant: docpal_service, docpal_app
create or replace function docpal.update_type_list(slug text, "values" jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Replaces a type list's values and re-checks every column that uses it (its
   options CHECK is regenerated and validated): removing a value that is
   still stored is 23514 and changes nothing, removing a state of a workflow
   whose column uses the list 2BP01. 42704 for an unknown list. */
declare
    v_ctx record;
    v_list jsonb;
    v_table text;
    v_column jsonb;
    v_spec jsonb;
    v_old_options jsonb;
begin
    perform docpal_private.check_spec_size(update_type_list."values", 'update_type_list');
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.ddl_begin();
    v_list := docpal_private.normalize_type_list(update_type_list.slug, update_type_list."values");
    execute pg_catalog.format('select pg_catalog.jsonb_path_query_array(c.spec, ''$.values[*].value'')
                                 from %I._catalog c where c.kind = $1 and c.slug = $2 for update', v_ctx.schema_name)
       into v_old_options using 'type_list', update_type_list.slug;
    if v_old_options is null then
        raise exception using errcode = '42704',
            message = pg_catalog.format('type list %L does not exist', update_type_list.slug);
    end if;
    execute pg_catalog.format('update %I._catalog c set spec = $3, updated_at = pg_catalog.now()
                                where c.kind = $1 and c.slug = $2', v_ctx.schema_name)
      using 'type_list', update_type_list.slug, v_list;
    for v_table, v_spec in execute pg_catalog.format(
        'select c.slug, c.spec from %I._catalog c
          where c.kind = ''table''
            and exists (select from pg_catalog.jsonb_array_elements(c.spec->''columns'') col
                         where col->>''type_list'' = $1)', v_ctx.schema_name) using update_type_list.slug
    loop
        for v_column in
            select c from pg_catalog.jsonb_array_elements(v_spec->'columns') c where c->>'type_list' = update_type_list.slug
        loop
            perform docpal_private.workflow_guard(v_ctx.schema_name, v_spec, v_column->>'name', v_column);
            v_spec := docpal_private.with_column(v_spec, v_column->>'name',
                -- the old CHECK was made from the old values: say so, or it would look unchanged
                docpal_private.apply_column(v_ctx.schema_name, v_table,
                    v_column || pg_catalog.jsonb_build_object('options', v_old_options), v_column - 'objects'));
        end loop;
        perform docpal_private.save_table_spec(v_ctx.schema_name, v_spec);
    end loop;
    return v_list;
end
$$;
