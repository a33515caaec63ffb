-- grant: docpal_service, docpal_app
create or replace function docpal.relate(subject text, relation text, object text)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Stores the tuple object#relation@subject (again: no change). Owners and
   admins only; 22023 for a malformed subject, relation or object. */
declare
    v_ctx record;
    v_subject record;
    v_object record;
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.rebac_tables(v_ctx.schema_name);
    v_subject := docpal_private.rebac_ref(relate.subject, true);
    v_object := docpal_private.rebac_ref(relate.object, false);
    perform docpal_private.rebac_name(relate.relation, 'relation');
    execute pg_catalog.format(
        'insert into %I._tuples (object_type, object_id, relation, subject_type, subject_id, subject_relation)
         values ($1, $2, $3, $4, $5, $6) on conflict do nothing', v_ctx.schema_name)
      using v_object.o_type, v_object.o_id, relate.relation, v_subject.o_type, v_subject.o_id, v_subject.o_relation;
end
$$;
