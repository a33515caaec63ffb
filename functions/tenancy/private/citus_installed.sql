create or replace function docpal_private.citus_installed()
    returns boolean
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether this database has the citus extension: the one test of every
   Citus path (contract section 10). Never a setting: a client can make
   any setting exist, but not an extension. A setting is only ever a
   reason to look: without the Citus library loaded (which CREATE EXTENSION
   citus requires) its setting citus.propagate_set_commands does not exist,
   and no client can remove a setting a loaded library defines; so when it
   is absent the answer is false without a catalog lookup (every record
   write asks, and a fresh connection would otherwise open pg_extension),
   and when it is present, whoever made it, pg_extension decides. */
begin
    if pg_catalog.current_setting('citus.propagate_set_commands', true) is null then
        return false;
    end if;
    return exists (select from pg_catalog.pg_extension e where e.extname = 'citus');
end
$$;
