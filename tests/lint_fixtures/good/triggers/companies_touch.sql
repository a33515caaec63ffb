create or replace function docpal_private.companies_touch()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
begin
    new.updated_at := pg_catalog.now();
    return new;
end
$$;

create or replace trigger companies_touch
    before update on docpal_private.companies
    for each row execute function docpal_private.companies_touch();
