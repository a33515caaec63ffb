-- grant: docpal_service, docpal_app
create or replace function docpal.grant_permission(role text, slug text, actions text[], spec jsonb default '{}')
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Grants actions on a table to a custom role or member, limited to
   spec.columns and spec.row_filter (query filter syntax, "$user" = the
   current user). Granting an action again replaces it. Returns the role's
   grants on the table. Owners and admins only (they hold every permission,
   so nobody grants what they do not hold). 22023 bad action/spec or a
   built-in role, 42704 unknown role, 42P01 unknown table, 42703 unknown
   column (or a path of the filter). */
declare
    v_ctx record;
    v_role text;
    v_spec jsonb;
    v_columns text[];
    v_filter jsonb;
    v_result jsonb;
begin
    perform docpal_private.check_spec_size(grant_permission.spec, 'grant_permission');
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.permission_tables(v_ctx.schema_name);
    v_role := docpal_private.custom_role(v_ctx.schema_name, grant_permission.role, true);
    v_spec := docpal_private.table_spec(v_ctx.schema_name, grant_permission.slug);
    if grant_permission.actions is null or pg_catalog.cardinality(grant_permission.actions) = 0
       or not (grant_permission.actions <@ array['read', 'create', 'update', 'delete']) then
        raise exception using errcode = '22023', message = 'actions are one or more of read, create, update, delete';
    end if;
    perform docpal_private.check_keys(coalesce(grant_permission.spec, '{}'), 'a grant spec takes only columns and row_filter',
                                      array['columns', 'row_filter'], 'a grant spec takes only columns and row_filter');
    if grant_permission.spec ? 'columns' and grant_permission.spec->'columns' <> 'null' then
        if pg_catalog.jsonb_typeof(grant_permission.spec->'columns') <> 'array'
           or exists (select from pg_catalog.jsonb_array_elements(grant_permission.spec->'columns') c
                       where pg_catalog.jsonb_typeof(c) <> 'string') then
            raise exception using errcode = '22023', message = 'columns is an array of column names';
        end if;
        v_columns := array(select pg_catalog.jsonb_array_elements_text(grant_permission.spec->'columns'));
        perform docpal_private.column_spec(v_spec, c) from pg_catalog.unnest(v_columns) c
          where c <> all (docpal_private.system_columns());
    end if;
    if grant_permission.spec ? 'row_filter' and grant_permission.spec->'row_filter' <> 'null' then
        v_filter := grant_permission.spec->'row_filter';
        -- validated by compiling it as the query engine will
        perform docpal_private.row_allowed(v_ctx.schema_name, v_spec,
                    pg_catalog.replace(v_filter::text, '"$user"', pg_catalog.to_json(v_ctx.user_id::text)::text)::jsonb,
                    v_ctx.user_id);
    end if;
    execute pg_catalog.format(
        'insert into %I._grants (role, table_slug, action, columns, row_filter)
         select $1, $2, a, $4, $5 from pg_catalog.unnest($3::text[]) a
         on conflict (role, table_slug, action) do update set columns = excluded.columns, row_filter = excluded.row_filter',
        v_ctx.schema_name)
      using v_role, grant_permission.slug, grant_permission.actions, v_columns, v_filter;
    execute pg_catalog.format(
        'select pg_catalog.jsonb_build_object(''role'', $1, ''table'', $2, ''grants'',
                    coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''action'', g.action, ''columns'', g.columns,
                                                                                ''row_filter'', g.row_filter) order by g.action), ''[]''))
           from %I._grants g where g.role = $1 and g.table_slug = $2', v_ctx.schema_name)
       into v_result using v_role, grant_permission.slug;
    return v_result;
end
$$;
