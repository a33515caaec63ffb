create or replace function docpal_private.context_valid(p_token text, p_pads bytea)
    returns boolean
    language sql stable parallel safe
as $$
/* Whether p_token is a context value signed in this very session: seven
   fields, the fifth and sixth this session's tag (docpal_private.session_tag:
   pid and backend start), the last the HMAC of the rest
   (docpal_private.context_sign with the padded key p_pads). A signed value
   is exactly what context_token wrote, so its uuid fields are canonical and
   cast without error; nothing is cast here, so no value a client sets makes
   this raise. False, or null when p_pads is null (a missing key): callers
   treat anything but true as invalid. Inlined into the caller's expression
   (SQL without SET or STRICT, names schema-qualified); pass p_token as a
   variable and p_pads as a column (docpal_private.secrets' value of
   'context_hmac_pads'): they are used more than once. */
select pg_catalog.cardinality(pg_catalog.string_to_array(p_token, '|')) operator(pg_catalog.=) 7
       and pg_catalog.split_part(p_token, '|', 5) operator(pg_catalog.||) '|'
           operator(pg_catalog.||) pg_catalog.split_part(p_token, '|', 6) operator(pg_catalog.=) docpal_private.session_tag()
       and docpal_private.context_sign(pg_catalog.left(p_token, -65), p_pads) operator(pg_catalog.=) p_token
$$;
