create or replace function docpal_private.pattern_has_back_reference(p_pattern text)
    returns boolean
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* Whether a regular expression holds a back reference: a backslash and
       a digit 1-9 that the backslash escapes (PostgreSQL reads \1 to \9, and
       \mnn past them, as back references; \0 and \x.. are characters). An
       escaped backslash (\\) is removed first, so \\1 (a backslash, then 1)
       is not one. Conservative inside brackets, where \1 is never needed.
       PostgreSQL has no named groups, so there is no \k<name> to find. */
    select pg_catalog.regexp_replace(p_pattern, '\\\\', '', 'g') ~ '\\[1-9]'
$$;
