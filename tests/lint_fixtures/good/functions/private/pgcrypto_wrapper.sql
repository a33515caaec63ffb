-- A DO block is not a function body: its EXECUTE is not checked.
do $do$
declare
    v_schema text;
begin
    select n.nspname into strict v_schema
      from pg_catalog.pg_extension e
      join pg_catalog.pg_namespace n on n.oid = e.extnamespace
     where e.extname = 'pgcrypto';
    execute 'create or replace function docpal_private.digest_sha256(p_data bytea) returns bytea'
        || ' language sql immutable strict set search_path = pg_catalog, pg_temp'
        || ' as $$ select ' || pg_catalog.quote_ident(v_schema) || '.digest(p_data, ''sha256'') $$';
end
$do$;
