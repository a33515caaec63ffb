create or replace function docpal_private.generator_fingerprint(p_generator text)
    returns text
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The fingerprint of a per-company code generator: the md5 of the source
   (prosrc) of the generator function and of every docpal function it
   names, and they name, transitively. Anything the generator inlines into
   the code it writes (audit_text_sql, event_rules_sql and the filter
   compiler behind it, ...) is among them, so a change to any of it changes
   the fingerprint; so does a change to a helper it only calls, which costs
   one needless regeneration at the next migrate, never a missed one.
   Computed by every install (sql/install/generators.sql). */
with recursive used(name) as (
    select p_generator::name collate "C"
    union
    select m[2]::name
      from used u
      join pg_catalog.pg_proc p on p.proname = u.name
                               and p.pronamespace in ('docpal'::regnamespace, 'docpal_private'::regnamespace)
     cross join lateral pg_catalog.regexp_matches(p.prosrc, '\m(docpal|docpal_private)\.([a-z_0-9]+)', 'g') m
)
select pg_catalog.md5(pg_catalog.string_agg(
           n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
           || E'\n' || p.prosrc, E'\n' order by n.nspname, p.proname, p.oid))
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
 where n.nspname in ('docpal', 'docpal_private')
   and p.proname in (select u.name from used u);
$$;
