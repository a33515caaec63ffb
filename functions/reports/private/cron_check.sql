create or replace function docpal_private.cron_check(p_schedule text)
    returns text
    language sql immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
as $$
/* A report schedule checked (docpal_private.cron_parse: the syntax taken,
   and 22023 naming the wrong field, for a schedule that never runs, or over
   100 characters), returned normalized: lower case, single spaces,
   @annually and @midnight as @yearly and @daily. Null for null (no
   schedule). */
    select p.normalized from docpal_private.cron_parse(p_schedule) p
$$;
