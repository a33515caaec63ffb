-- Grants combine cell by cell (issue 12): a company that already has
-- permission tables gets its _permission function compiled again, so that
-- it lists the individual grants (the "grants" key) beside their union.
-- (Until then docpal_private.permission reads an old result as one grant.)
select docpal_private.permission_compile('{{ schema }}'::regnamespace)
 where pg_catalog.to_regclass('{{ schema }}._grants') is not null;
