create or replace function docpal_private.audit_content_sql(p_alias text)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The SQL expression (as bytea) that the hash chain covers for the audit
   entry p_alias: every column but seal and hash, as a JSON array, with the
   time in UTC, so the bytes do not depend on the session's TimeZone or
   DateStyle. The sealer and the verifier both use this one definition. */
begin
    return pg_catalog.format(
        'pg_catalog.convert_to(pg_catalog.jsonb_build_array(%1$I.id, pg_catalog.timezone(''UTC'', %1$I.at), %1$I.txid::text,
             %1$I.user_id, %1$I.db_role, %1$I."table", %1$I.record_id, %1$I.action, %1$I.version,
             %1$I.old, %1$I.new, %1$I.changed, %1$I.summary)::text, ''UTF8'')', p_alias);
end
$$;
