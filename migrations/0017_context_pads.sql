-- depends: 0016_query_cache
-- The context HMAC's padded keys, computed once (issue 19): HMAC-SHA256(k, m)
-- is sha256((k' xor opad) || sha256((k' xor ipad) || m)), k' the key
-- zero-padded to the 64-byte block. Kept as one 128-byte row, the inner
-- key then the outer one, next to the key they come from and as secret as
-- it (docpal_private.secrets: the docpal owner only), so that signing and
-- verifying a context (docpal_private.context_mac) is two sha256() calls
-- and no bit arithmetic: the expression a fresh connection plans is small.
-- Derived with docpal_private.hmac_sha256's own padding; the key is never
-- changed, so the pads never go stale. Idempotent: the install script
-- replays every migration.
insert into docpal_private.secrets (name, value)
select 'context_hmac_pads',
       pg_catalog.substr(pg_catalog.varbit_send(pg_catalog.bitxor(k.bits,
           X'36363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636')), 5)
       operator(pg_catalog.||)
       pg_catalog.substr(pg_catalog.varbit_send(pg_catalog.bitxor(k.bits,
           X'5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c')), 5)
  from (select pg_catalog.textcat('x', pg_catalog.rpad(pg_catalog.encode(
                   case when pg_catalog.octet_length(s.value) > 64 then pg_catalog.sha256(s.value) else s.value end,
                   'hex'), 128, '0'))::pg_catalog.bit(512) as bits
          from docpal_private.secrets s where s.name = 'context_hmac') k
on conflict (name) do nothing;
