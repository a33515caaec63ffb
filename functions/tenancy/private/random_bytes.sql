-- docpal_private.random_bytes(p_count integer) -> bytea
-- Cryptographically strong random bytes (pgcrypto's gen_random_bytes), for
-- API keys. Generated against the schema pgcrypto lives in, as hmac_sha256.
do $do$
declare
    v_schema text;
begin
    select n.nspname into strict v_schema
      from pg_catalog.pg_extension e
      join pg_catalog.pg_namespace n on n.oid = e.extnamespace
     where e.extname = 'pgcrypto';
    execute pg_catalog.format($f$
        create or replace function docpal_private.random_bytes(p_count integer)
            returns bytea
            language plpgsql volatile strict
            set search_path = pg_catalog, pg_temp
        as $body$
        begin
            return %1$I.gen_random_bytes(p_count);
        end
        $body$ $f$, v_schema);
end
$do$;
