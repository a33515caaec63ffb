-- grant: docpal_service, docpal_app
create or replace function docpal.revoke_permission(role text, slug text, actions text[])
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Removes the role's grants of those actions on the table (revoking what
   was not granted is not an error). Owners and admins only. */
declare
    v_ctx record;
    v_role text;
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.permission_tables(v_ctx.schema_name);
    v_role := docpal_private.custom_role(v_ctx.schema_name, revoke_permission.role, true);
    perform docpal_private.table_spec(v_ctx.schema_name, revoke_permission.slug);
    if revoke_permission.actions is null or not (revoke_permission.actions <@ array['read', 'create', 'update', 'delete']) then
        raise exception using errcode = '22023', message = 'actions are one or more of read, create, update, delete';
    end if;
    execute pg_catalog.format('delete from %I._grants g where g.role = $1 and g.table_slug = $2 and g.action = any ($3)',
                              v_ctx.schema_name)
      using v_role, revoke_permission.slug, revoke_permission.actions;
end
$$;
