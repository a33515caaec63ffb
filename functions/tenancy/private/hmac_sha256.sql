-- docpal_private.hmac_sha256(p_data text, p_key bytea) -> bytea
-- HMAC-SHA256 from pgcrypto. pgcrypto may already live in another schema
-- (CREATE EXTENSION IF NOT EXISTS does not move it), so the wrapper is
-- generated against the schema the catalog names. PL/pgSQL rather than SQL:
-- a SQL function with a SET clause is re-planned on every call, a PL/pgSQL
-- one keeps its plan for the session (this runs on every context check).
do $do$
declare
    v_schema text;
begin
    select n.nspname into strict v_schema
      from pg_catalog.pg_extension e
      join pg_catalog.pg_namespace n on n.oid = e.extnamespace
     where e.extname = 'pgcrypto';
    execute pg_catalog.format($f$
        create or replace function docpal_private.hmac_sha256(p_data text, p_key bytea)
            returns bytea
            language plpgsql immutable strict parallel safe
            set search_path = pg_catalog, pg_temp
        as $body$
        begin
            return %1$I.hmac(pg_catalog.convert_to(p_data, 'UTF8'), p_key, 'sha256');
        end
        $body$ $f$, v_schema);
end
$do$;
