create or replace function docpal_private.switch_set(p_name text, p_value text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Turns docpal's internal switch p_name (audit_action, audit_links,
   audit_maintenance) to p_value for the rest of the current transaction, or
   off with null or ''. The setting docpal.<p_name> holds
   value|transaction id|hmac, signed with a key only the docpal owner reads:
   a client can write any setting, but cannot make one that
   docpal_private.switch accepts, and a value copied from another
   transaction names the wrong transaction. */
declare
    v_txid text;
    v_payload text;
begin
    if p_value is null or p_value = '' then
        perform pg_catalog.set_config('docpal.' || p_name, '', true);
        return;
    end if;
    v_txid := pg_catalog.pg_current_xact_id()::text;
    v_payload := p_name || '|' || p_value || '|' || v_txid;
    perform pg_catalog.set_config('docpal.' || p_name,
        p_value || '|' || v_txid || '|' || pg_catalog.encode(docpal_private.hmac_sha256(v_payload,
            (select s.value from docpal_private.secrets s where s.name = 'switch_hmac')), 'hex'),
        true);
end
$$;
