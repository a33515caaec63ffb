create or replace function docpal_private.context_sign(p_payload text, p_pads bytea)
    returns text
    language sql stable parallel safe
as $$
/* p_payload|hex(HMAC-SHA256(context key, p_payload)): a context value.
   p_pads is the key's inner and outer padded blocks (the secret
   'context_hmac_pads', migration 0017), so the HMAC is two sha256() calls:
   sha256(opad key || sha256(ipad key || payload)), the bytes
   docpal_private.hmac_sha256(p_payload, key) gives. SQL without SET or
   STRICT, every name schema-qualified: the planner inlines it into the
   calling expression (no call, no plan of its own, a handful of catalog
   lookups on a fresh connection). Pass both arguments as variables or
   columns: each is used twice, and an argument used twice is inlined only
   when it is cheap. A null p_pads gives null: callers compare with IS
   DISTINCT FROM, so a missing key fails closed. */
select p_payload operator(pg_catalog.||) '|' operator(pg_catalog.||) pg_catalog.encode(pg_catalog.sha256(pg_catalog.byteacat(
           pg_catalog.substr(p_pads, 65, 64),
           pg_catalog.sha256(pg_catalog.byteacat(pg_catalog.substr(p_pads, 1, 64), pg_catalog.convert_to(p_payload, 'UTF8'))))),
       'hex')
$$;
