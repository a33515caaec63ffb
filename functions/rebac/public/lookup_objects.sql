-- grant: docpal_service, docpal_app
create or replace function docpal.lookup_objects(subject text, permission text, object_type text)
    returns text[]
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The objects of object_type (those in some tuple) on which the subject has
   the permission, sorted: one compiled check per candidate. Any member;
   22023 for malformed input, 54000 as check_relation. */
declare
    v_ctx record;
    v_subject record;
    v_result text[];
    v_candidates text[];
begin
    select * into v_ctx from docpal_private.require_company();
    v_subject := docpal_private.rebac_ref(lookup_objects.subject, true);
    perform docpal_private.rebac_name(lookup_objects.permission, 'permission');
    perform docpal_private.rebac_name(lookup_objects.object_type, 'object type');
    if pg_catalog.to_regclass(pg_catalog.format('%I._tuples', v_ctx.schema_name)) is null then
        return '{}';  -- no relation was ever written in this company
    end if;
    -- the candidates first, then the checks: a check reads the company's
    -- tables, which it may not do inside a query Citus sends to a worker
    execute pg_catalog.format('select pg_catalog.array_agg(distinct t.object_id) from %I._tuples t where t.object_type = $1',
                              v_ctx.schema_name)
       into v_candidates using lookup_objects.object_type;
    execute pg_catalog.format(
        'select coalesce(pg_catalog.array_agg($1 || '':'' || o.object_id order by o.object_id), ''{}'')
           from pg_catalog.unnest($6::text[]) o(object_id)
          where %1$I._rebac_check($1, $2, $3, $4, $5, o.object_id, 0, ''{}'') is null', v_ctx.schema_name)
       into v_result
      using lookup_objects.object_type, lookup_objects.permission, v_subject.o_type, v_subject.o_id, v_subject.o_relation,
            v_candidates;
    return v_result;
end
$$;
