-- grant: docpal_service, docpal_app
create or replace function docpal.lookup_objects(subject text, permission text, object_type text)
    returns text[]
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The objects of object_type (those in some tuple) on which the subject has
   the permission, sorted: the company's compiled rules walked backwards
   from the subject (docpal_private.rebac_compile), so the cost follows what
   the subject may reach, not the number of objects. Any member; 22023 for
   malformed input, 54000 when a path is deeper than 25 steps. */
declare
    v_ctx record;
    v_subject record;
    v_result text[];
begin
    select * into v_ctx from docpal_private.require_company();
    v_subject := docpal_private.rebac_ref(lookup_objects.subject, true);
    perform docpal_private.rebac_name(lookup_objects.permission, 'permission');
    perform docpal_private.rebac_name(lookup_objects.object_type, 'object type');
    if pg_catalog.to_regclass(pg_catalog.format('%I._tuples', v_ctx.schema_name)) is null then
        return '{}';  -- no relation was ever written in this company
    end if;
    execute pg_catalog.format('select %I._rebac_lookup($1, $2, $3, $4, $5)', v_ctx.schema_name)
       into v_result
      using lookup_objects.object_type, lookup_objects.permission, v_subject.o_type, v_subject.o_id, v_subject.o_relation;
    return v_result;
end
$$;
