create or replace function docpal_private.hmac_sha256(p_data text, p_key bytea)
    returns bytea
    language sql stable parallel safe
as $$
/* HMAC-SHA256 of p_data (as UTF-8) under p_key (RFC 2104): the bytes
   pgcrypto's hmac(data, key, 'sha256') gives, from the server's own
   sha256(). The key, hashed first when longer than the 64-byte block,
   zero-padded to it as bit(512), XORed with the outer and inner pads
   (0x5c and 0x36 bytes) and turned back into bytes (varbit_send: a 4-byte
   bit count, then the bits). No pgcrypto on the context path: loading its
   library was a fresh connection's largest single cost of set_context.
   SQL without SET or STRICT, every name schema-qualified and called as a
   function, so that the planner inlines it into the calling PL/pgSQL
   expression (no call, no plan of its own) with few catalog lookups, and
   no search_path decides what it runs. Pass p_key as a variable, not a
   subquery: an argument used twice is inlined only when it is cheap. */
select pg_catalog.sha256(pg_catalog.byteacat(
           pg_catalog.substr(pg_catalog.varbit_send(pg_catalog.bitxor(
               pg_catalog.textcat('x', pg_catalog.rpad(pg_catalog.encode(
                   case when pg_catalog.int4gt(pg_catalog.octet_length(p_key), 64) then pg_catalog.sha256(p_key)
                        else p_key end, 'hex'), 128, '0'))::pg_catalog.bit(512),
               X'5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c')), 5),
           pg_catalog.sha256(pg_catalog.byteacat(
               pg_catalog.substr(pg_catalog.varbit_send(pg_catalog.bitxor(
                   pg_catalog.textcat('x', pg_catalog.rpad(pg_catalog.encode(
                       case when pg_catalog.int4gt(pg_catalog.octet_length(p_key), 64) then pg_catalog.sha256(p_key)
                            else p_key end, 'hex'), 128, '0'))::pg_catalog.bit(512),
                   X'36363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636')), 5),
               pg_catalog.convert_to(p_data, 'UTF8')))))
$$;
