create or replace function docpal_private.plpgsql_names(p_id uuid)
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Unqualified names in every kind of PL/pgSQL expression. */
declare
    v_company docpal_private.companies;
    v_n integer := helper_count();  -- expect: unqualified-name
begin
    select * into v_company
      from companies c  -- expect: unqualified-name
     where c.id = p_id;
    with recent as (select c.id from docpal_private.companies c)
    select count(*) into v_n from recent;  -- a CTE and a builtin: fine
    perform r.oid from pg_class r;  -- expect: unqualified-name
    for v_company in
        select * from docpal_private.companies c
         where c.id = other_helper(p_id)  -- expect: unqualified-name
    loop
        v_n := v_n + 1;
    end loop;
    raise exception using errcode = 'P0001',
        message = format_message(p_id);  -- expect: unqualified-name
    v_company.schema_version := docpal_private.next_version(lower(p_id::text));
    return v_n;
end
$$;
