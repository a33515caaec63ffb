create or replace function docpal_private.permission(
    p_caller docpal_private.caller, p_slug text, p_action text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* What the caller (p_caller: user, company schema, company role and API
   key scopes, as docpal_private.require_company() returns them) may do
   with p_action on table p_slug: null when denied,
   else {columns, row_filter, grants}: columns null = every column,
   row_filter null = every row ("$user" already replaced by the user's id),
   grants the individual [{columns, row_filter}] for cell-by-cell reads. Owners and admins
   hold everything; a member holds the grants of "member", of the roles
   assigned to them or to their groups, and of every role those inherit from
   (parent chains, depth-bounded), as the company's compiled _permission
   function reads them (docpal_private.permission_compile). Grants combine
   by union. An API key's
   scopes (p_caller.scopes, null = not narrowed) must include the action. */
declare
    v_result jsonb;
begin
    if p_caller.scopes is not null and not (p_action = any (p_caller.scopes)) then
        return null;
    end if;
    if p_caller.member_role in ('owner', 'admin') then
        return '{"columns": null, "row_filter": null, "grants": [{"columns": null, "row_filter": null}]}';
    end if;
    if pg_catalog.to_regclass(pg_catalog.format('%I._grants', p_caller.schema_name)) is null then
        return null;  -- no permission was ever written in this company: members hold nothing
    end if;
    execute pg_catalog.format('select %I._permission($1, $2, $3)', p_caller.schema_name)
       into v_result using p_caller.user_id, p_slug, p_action;
    if v_result is null then
        return null;
    end if;
    if not v_result ? 'grants' then
        -- a _permission compiled before grants were listed (permission_compile
        -- runs once per company): its union is the one grant we can know of
        v_result := v_result || pg_catalog.jsonb_build_object('grants', pg_catalog.jsonb_build_array(
            pg_catalog.jsonb_build_object('columns', v_result->'columns', 'row_filter', v_result->'row_filter')));
    end if;
    if pg_catalog.strpos(v_result::text, '"$user"') > 0 then
        v_result := pg_catalog.replace(v_result::text, '"$user"', pg_catalog.to_json(p_caller.user_id::text)::text)::jsonb;
    end if;
    return v_result;
end
$$;
