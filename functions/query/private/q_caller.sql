create or replace function docpal_private.q_caller(p_caller jsonb)
    returns docpal_private.caller
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The query compiler's jsonb caller (docpal_private.require_company() as
   jsonb: company_id, user_id, schema_name, member_role, scopes) as the
   docpal_private.caller that docpal_private.permission and
   require_permission take; scopes that are not an array are null (not
   narrowed). (PL/pgSQL: its statement's plan is kept, where an SQL
   function with a SET clause is planned on every call.) */
begin
    return row((p_caller->>'company_id')::uuid, (p_caller->>'user_id')::uuid,
               p_caller->>'schema_name', p_caller->>'member_role',
               case when pg_catalog.jsonb_typeof(p_caller->'scopes') = 'array'
                    then array(select pg_catalog.jsonb_array_elements_text(p_caller->'scopes')) end
           )::docpal_private.caller;
end
$$;
