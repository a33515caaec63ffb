-- grant: docpal_service, docpal_app
create or replace function docpal.explain_query(slug text, spec jsonb)
    returns text
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The SQL query_table would run for the spec, and a comment line with its
   bound parameter $1, for a DBA to EXPLAIN. Owners and admins only: the
   SQL of a member's query spells out their row filters and column masks,
   which are the company's to know, not the member's (42501 before any
   compiling, so the denial reveals nothing of them). */
declare
    v_ctx record;
    v_state jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    if v_ctx.member_role not in ('owner', 'admin') then
        raise exception using errcode = '42501', message = 'permission denied: explain_query is for owners and admins';
    end if;
    v_state := docpal_private.q_compile(v_ctx.schema_name, explain_query.slug, explain_query.spec);
    return docpal_private.q_rows_sql(v_state) || E'\n-- $1 = ' || (v_state->'params')::text;
end
$$;
