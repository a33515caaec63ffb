create or replace function docpal_private.join_words(p_words text[])
    returns text
    language sql immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
as $$
    /* The elements of a text array joined by spaces. array_to_string is only
       STABLE (it handles any element type); for text[] the result cannot
       change, so this may be used in index expressions (full-text search
       over multi_select columns). */
    select pg_catalog.array_to_string(p_words, ' ')
$$;
