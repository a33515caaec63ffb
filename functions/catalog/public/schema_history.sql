-- grant: docpal_service, docpal_app
create or replace function docpal.schema_history(slug text)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Every schema change of the table, oldest first: {at, user_id, change,
   before, after}. 42P01 for an unknown slug. A member sees the history of
   a table it may read only (42501 otherwise), and only what concerns the
   columns it may read now: a table spec (before/after of create_table,
   alter_table) loses the other columns, and a change of one column
   (add/alter/rename/drop_column) is left out unless that column, by the
   name it has after the change (before it, for a drop), is readable. */
declare
    v_ctx docpal_private.caller;
    v_result jsonb;
    v_perm jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    perform docpal_private.table_spec(v_ctx.schema_name, schema_history.slug);
    if v_ctx.member_role not in ('owner', 'admin') then
        v_perm := docpal_private.require_permission(v_ctx, schema_history.slug, 'read');
    end if;
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    ''at'', h.at, ''user_id'', h.user_id, ''change'', h.change, ''before'', h.before, ''after'', h.after)
                  order by h.id), ''[]'')
           from %I._schema_history h where h.table_slug = $1', v_ctx.schema_name)
       into v_result using schema_history.slug;
    if v_perm is null or coalesce(v_perm->'columns', 'null') = 'null' then
        return v_result;
    end if;
    -- a member with a column list: only the columns it may read
    select coalesce(pg_catalog.jsonb_agg(e || pg_catalog.jsonb_build_object(
               'before', docpal_private.readable_spec(e->'before', v_perm->'columns'),
               'after', docpal_private.readable_spec(e->'after', v_perm->'columns')) order by o), '[]')
      into v_result
      from pg_catalog.jsonb_array_elements(v_result) with ordinality x(e, o)
     where (e->'after' ? 'columns' or e->'before' ? 'columns')
        or v_perm->'columns' ? coalesce(e->'after'->>'name', e->'before'->>'name');
    return v_result;
end
$$;
