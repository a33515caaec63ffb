create or replace function docpal_private.company_group(p_schema text, p_group text)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* p_group when it names a group of the company; 42704 otherwise. */
declare
    v_found boolean;
begin
    execute pg_catalog.format('select exists (select from %I._groups g where g.name = $1)', p_schema) into v_found using p_group;
    if not v_found then
        raise exception using errcode = '42704', message = pg_catalog.format('group %L does not exist', p_group);
    end if;
    return p_group;
end
$$;
