create or replace function docpal_private.switch(p_name text)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The value of docpal's internal switch p_name in this transaction
   (docpal_private.switch_set), or null: a value that docpal did not sign
   for this very transaction (written by a client, or copied from another
   transaction) is ignored. Callers on hot paths test the setting for ''
   first, so that ordinary writes never pay for the check. */
declare
    v_setting text := pg_catalog.current_setting('docpal.' || p_name, true);
    v_parts text[];
    v_key bytea;
begin
    if v_setting is null or v_setting = '' then
        return null;
    end if;
    v_parts := pg_catalog.string_to_array(v_setting, '|');
    if pg_catalog.cardinality(v_parts) <> 3
       or v_parts[2] is distinct from docpal_private.switch_transaction(false) then
        return null;
    end if;
    -- the key as a variable: hmac_sha256 is then inlined into this expression
    v_key := (select s.value from docpal_private.switch_keys s where s.name = 'switch_hmac');
    if v_parts[3] <> pg_catalog.encode(docpal_private.hmac_sha256(p_name || '|' || v_parts[1] || '|' || v_parts[2],
                                                                 v_key), 'hex') then
        return null;
    end if;
    return v_parts[1];
end
$$;
