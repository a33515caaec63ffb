-- grant: docpal_service, docpal_app
create or replace function docpal.check_relation(subject text, permission text, object text)
    returns boolean
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Whether the subject has the permission on the object, through the
   company's compiled rules (docpal_private.rebac_compile): one recursive
   query of index lookups along the path, cycles cut, 54000 past 25 steps
   (never true). 22023 for malformed references. Any member. The references
   are split by one regular expression here; docpal_private.rebac_ref and
   rebac_name, which raise the contract's errors, run only when it fails. */
declare
    v_ctx record;
    v_subject text[] := pg_catalog.regexp_match(check_relation.subject, '^([a-z][a-z0-9_]*):([^#[:space:]]+)(?:#([a-z][a-z0-9_]*))?$');
    v_object text[] := pg_catalog.regexp_match(check_relation.object, '^([a-z][a-z0-9_]*):([^#[:space:]]+)$');
    v_result boolean;
begin
    select * into v_ctx from docpal_private.require_company();
    if v_subject is null or v_object is null or check_relation.permission !~ '^[a-z][a-z0-9_]*$'
       or pg_catalog.length(v_subject[1]) > 63 or pg_catalog.length(v_subject[2]) > 200 or pg_catalog.length(v_subject[3]) > 63
       or pg_catalog.length(v_object[1]) > 63 or pg_catalog.length(v_object[2]) > 200 or pg_catalog.length(check_relation.permission) > 63 then
        -- the same checks, in the order and with the errors of the other ReBAC functions
        perform docpal_private.rebac_ref(check_relation.subject, true);
        perform docpal_private.rebac_ref(check_relation.object, false);
        perform docpal_private.rebac_name(check_relation.permission, 'permission');
    end if;
    if pg_catalog.to_regclass(pg_catalog.format('%I._tuples', v_ctx.schema_name)) is null then
        return false;  -- no relation was ever written in this company
    end if;
    execute pg_catalog.format('select %I._rebac_check($1, $2, $3, $4, $5, $6)', v_ctx.schema_name)
       into v_result
      using v_object[1], check_relation.permission, v_subject[1], v_subject[2], coalesce(v_subject[3], ''), v_object[2];
    return v_result;
end
$$;
