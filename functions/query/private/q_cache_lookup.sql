create or replace function docpal_private.q_cache_lookup(
    p_caller jsonb, p_kind text, p_slug text, p_spec jsonb, out o_key text, out o_statement text, out o_params jsonb)
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The compiled statement of this query, when docpal_private.query_cache
   (migration 0016) holds one that is still valid: o_statement and its
   parameters o_params, else null. o_key is the entry's key, for
   docpal_private.q_cache_store; null on a standby (no cache there: an
   unlogged table cannot be read).
   The key is, in full (no hash collision can serve another's entry),
   everything the compiler reads besides the table specs and a member's
   read permissions: the docpal version that compiled it (a literal of this
   function: a session still running the code an upgrade replaced stores
   entries the new code never finds; the upgrade also empties the cache
   when the code changed within a version, render.code_script), the query
   function, company schema, user ($user, the
   member's own grants), company role and API key scopes, the session
   settings that decide whether a value converts (DateStyle,
   IntervalStyle, TimeZone), the table and the spec (values included:
   the compiler validated them, the entry binds them).
   Valid means the same key, the same table specs as compiled (the same row
   versions, xmin, of each in docpal_private.table_specs, so a schema
   change of any table the statement reads misses; reading xmin costs no
   detoasting of the specs) and, for a member, the same read permission of
   every table the compiler used (a grant, role or row filter change
   misses; the root table's read permission is required as the compiler
   requires it, 42501). An owner's or admin's entry has no permissions to
   check: its key holds the company role and the scopes, all that their
   read permission reads (docpal_private.permission), and the compiler
   found it granted. A hit is counted by a sequence (a miss by
   docpal_private.q_cache_store: docpal.query_cache_stats), not in a
   read-only transaction. */
declare
    v_perms jsonb;
    v_caller docpal_private.caller;
    v_perm jsonb;
    v_other jsonb;
    v_slug text;
begin
    if pg_catalog.pg_is_in_recovery() then
        return;
    end if;
    o_key := pg_catalog.jsonb_build_array(
                 '{{ version }}', p_kind, p_caller->'schema_name', p_caller->'user_id', p_caller->'member_role', p_caller->'scopes',
                 pg_catalog.current_setting('DateStyle'), pg_catalog.current_setting('IntervalStyle'),
                 pg_catalog.current_setting('TimeZone'), p_slug, p_spec)::text;
    select c.perms, c.statement, c.params into v_perms, o_statement, o_params
      from docpal_private.query_cache c
     where c.slot = pg_catalog.hashtext(o_key) & 8191 and c.key = o_key
       and c.company_id = (p_caller->>'company_id')::uuid
       and c.versions = (select pg_catalog.string_agg(s.slug || ':' || s.xmin::text, ',' order by s.slug collate "C")
                           from docpal_private.table_specs s
                          where s.company_id = c.company_id and s.slug = any (c.deps));
    if not found then
        return;
    end if;
    if v_perms is not null then
        v_caller := docpal_private.q_caller(p_caller);
        v_perm := docpal_private.require_permission(v_caller, p_slug, 'read');
        for v_slug in select pg_catalog.jsonb_object_keys(v_perms) loop
            v_other := v_perm;
            if v_slug <> p_slug then
                v_other := coalesce(docpal_private.permission(v_caller, v_slug, 'read'), 'false');
            end if;
            if v_other is distinct from v_perms->v_slug then
                o_statement := null;
                o_params := null;
                return;
            end if;
        end loop;
    end if;
    if not pg_catalog.current_setting('transaction_read_only')::boolean then
        perform pg_catalog.nextval('docpal_private.query_cache_hits');
    end if;
end
$$;
