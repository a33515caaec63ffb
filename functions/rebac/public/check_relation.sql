-- grant: docpal_service, docpal_app
create or replace function docpal.check_relation(subject text, permission text, object text)
    returns boolean
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Whether the subject has the permission on the object, through the
   company's compiled rules (docpal_private.rebac_compile): index lookups
   along the path, cycles cut, 54000 past 25 steps (never true). 22023 for
   malformed references. Any member. */
declare
    v_ctx record;
    v_subject record;
    v_object record;
    v_result boolean;
begin
    select * into v_ctx from docpal_private.require_company();
    v_subject := docpal_private.rebac_ref(check_relation.subject, true);
    v_object := docpal_private.rebac_ref(check_relation.object, false);
    perform docpal_private.rebac_name(check_relation.permission, 'permission');
    if pg_catalog.to_regclass(pg_catalog.format('%I._tuples', v_ctx.schema_name)) is null then
        return false;  -- no relation was ever written in this company
    end if;
    execute pg_catalog.format('select %I._rebac_check($1, $2, $3, $4, $5, $6, 0, ''{}'') is null', v_ctx.schema_name)
       into v_result
      using v_object.o_type, check_relation.permission, v_subject.o_type, v_subject.o_id, v_subject.o_relation, v_object.o_id;
    return v_result;
end
$$;
