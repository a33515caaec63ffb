create or replace function docpal_private.broken_body()
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$  -- expect: parse-error
begin
    retrun 1;
end
$$;
