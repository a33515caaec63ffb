-- grant: docpal_service, docpal_app
create or replace function docpal.unrelate(subject text, relation text, object text)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Removes the tuple object#relation@subject; P0002 when there is none.
   Owners and admins only; 22023 for malformed references. */
declare
    v_ctx record;
    v_subject record;
    v_object record;
    v_count integer;
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.rebac_tables(v_ctx.schema_name);
    v_subject := docpal_private.rebac_ref(unrelate.subject, true);
    v_object := docpal_private.rebac_ref(unrelate.object, false);
    perform docpal_private.rebac_name(unrelate.relation, 'relation');
    execute pg_catalog.format(
        'delete from %I._tuples t where t.object_type = $1 and t.object_id = $2 and t.relation = $3
            and t.subject_type = $4 and t.subject_id = $5 and t.subject_relation = $6', v_ctx.schema_name)
      using v_object.o_type, v_object.o_id, unrelate.relation, v_subject.o_type, v_subject.o_id, v_subject.o_relation;
    get diagnostics v_count = row_count;
    if v_count = 0 then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('%s has no relation %s to %s', unrelate.subject, unrelate.relation, unrelate.object);
    end if;
end
$$;
