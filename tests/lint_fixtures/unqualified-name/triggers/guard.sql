-- A trigger file: the trigger function's body is checked, the CREATE TRIGGER
-- around it is not a body.
create or replace function docpal_private.guard()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
begin
    insert into audit_log (id) values (new.id);  -- expect: unqualified-name
    return new;
end
$$;

create or replace trigger guard
    before update on docpal_private.companies
    for each row execute function docpal_private.guard();
