-- The schema name is derived from the id once; a company row must never be
-- re-pointed at another schema (that would hand one tenant another's data).
create or replace function docpal_private.companies_guard()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* BEFORE UPDATE on companies: id and schema_name are immutable. */
begin
    if new.id <> old.id or new.schema_name <> old.schema_name then
        raise exception using errcode = '42501',
            message = 'a company''s id and schema cannot be changed';
    end if;
    return new;
end
$$;

create or replace trigger companies_guard
    before update of id, schema_name on docpal_private.companies
    for each row execute function docpal_private.companies_guard();
