create or replace function docpal_private.audit_entry_sql(p_schema text, p_alias text)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* SQL of the JSON of the audit entry p_alias of company schema p_schema, as
   the audit functions return it, with its chain hash (hex; null until
   sealed). */
begin
    return pg_catalog.format(
        'pg_catalog.jsonb_build_object(''id'', %1$I.id, ''at'', %1$I.at, ''txid'', %1$I.txid::text,
             ''user_id'', %1$I.user_id, ''db_role'', %1$I.db_role, ''table'', %1$I."table", ''record_id'', %1$I.record_id,
             ''action'', %1$I.action, ''version'', %1$I.version, ''old'', %1$I.old, ''new'', %1$I.new,
             ''changed'', pg_catalog.to_jsonb(%1$I.changed), ''summary'', %1$I.summary,
             ''hash'', (select pg_catalog.encode(c.hash, ''hex'') from %2$I._audit_chain c where c.entry_id = %1$I.id))',
        p_alias, p_schema);
end
$$;
