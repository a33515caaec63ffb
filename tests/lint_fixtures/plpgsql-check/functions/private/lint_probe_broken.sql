-- Installed by tests/test_lint_db.py only: plpgsql_check must report the
-- missing table on its line of this file.
create or replace function docpal_private.lint_probe_broken()
    returns bigint
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
declare
    v_n bigint;
begin
    select count(*) into v_n
      from docpal_private.lint_probe_no_such_table t;  -- expect: plpgsql-check
    return v_n;
end
$$;
