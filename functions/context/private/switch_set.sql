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
   transaction names the wrong transaction. With Citus the transaction is
   its distributed id, the same on the coordinator and on the workers its
   statements reach (docpal_private.switch_transaction), and the setting
   goes on to them. */
declare
    v_key bytea := (select s.value from docpal_private.switch_keys s where s.name = 'switch_hmac');
    v_txid text;
    v_payload text;
begin
    if p_value is null or p_value = '' then
        perform pg_catalog.set_config('docpal.' || p_name, '', true);
        v_payload := '';
    else
        v_txid := docpal_private.switch_transaction();
        v_payload := p_value || '|' || v_txid || '|'
            || pg_catalog.encode(docpal_private.hmac_sha256(p_name || '|' || p_value || '|' || v_txid, v_key), 'hex');
        perform pg_catalog.set_config('docpal.' || p_name, v_payload, true);
    end if;
    if docpal_private.citus_installed() then
        -- on to the workers, where capture reads it
        perform docpal_private.citus_set_local('docpal.' || p_name, v_payload);
    end if;
end
$$;