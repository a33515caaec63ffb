-- grant: docpal_service, docpal_app
create or replace function docpal.explain_query(slug text, spec jsonb)
    returns text
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The statement query_table runs for the spec (docpal_private.q_table_statement:
   the same text), and comment lines with its bound parameters ($1, and
   with count estimated the EXPLAIN whose estimate is $2), for a DBA to
   EXPLAIN. Owners and admins only: the SQL of a member's query spells out
   their row filters and column masks, which are the company's to know, not
   the member's (42501 before any compiling, so the denial reveals nothing
   of them). */
declare
    v_caller jsonb;
    v_state jsonb;
begin
    select pg_catalog.to_jsonb(c) into v_caller from docpal_private.require_company() c;
    if v_caller->>'member_role' not in ('owner', 'admin') then
        raise exception using errcode = '42501', message = 'permission denied: explain_query is for owners and admins';
    end if;
    v_state := docpal_private.q_compile(v_caller, explain_query.slug, explain_query.spec);
    return docpal_private.q_table_statement(v_state) || E'\n-- $1 = ' || (v_state->'params')::text
           || case when v_state->>'count' = 'estimated'
                   then E'\n-- $2 = the planner''s row estimate of: ' || docpal_private.q_estimate_sql(v_state)
                   else '' end;
end
$$;
