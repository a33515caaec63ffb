create or replace function docpal_private.q_cache_store(p_key text, p_caller jsonb, p_state jsonb, p_statement text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Keeps a compiled statement (p_state, docpal_private.q_compile's state, and
   the statement made from it) in docpal_private.query_cache under p_key
   (docpal_private.q_cache_lookup's, which missed: counted here),
   replacing what its slot held. Not kept: without a key (a standby), in a read-only transaction, and a state
   that depends on what a hit does not check: the company's time zone (tz,
   vars.zone), a child query (embeds, reverse relations, child aggregates:
   their tables are found by name), an estimated count (an EXPLAIN per
   call). The entry records the versions (xmin) of the table specs in
   docpal_private.table_specs, kept only when those rows hold what the
   compiler read: a spec changed since, or a company without that copy,
   keeps nothing. Nor does a spec written by this transaction or one that
   began after it (age(xmin) <= 0: this transaction's own xid or a
   subtransaction's, or a newer one): a second change of that spec in the
   same (sub)transaction keeps its xmin, so the entry would match the
   changed spec, here and, once committed, everywhere. */
declare
    v_deps text[] := array(select pg_catalog.jsonb_object_keys(p_state->'specs'));
    v_versions text;
    v_specs jsonb;
    v_settled boolean;
begin
    if p_key is null or pg_catalog.current_setting('transaction_read_only')::boolean then
        return;
    end if;
    perform pg_catalog.nextval('docpal_private.query_cache_misses');
    if p_state ?| array['children', 'tz'] or p_state->'vars' ? 'zone'
       or p_state->>'count' is distinct from 'exact' and p_state->>'count' is distinct from 'none' then
        return;
    end if;
    select pg_catalog.string_agg(s.slug || ':' || s.xmin::text, ',' order by s.slug collate "C"),
           pg_catalog.jsonb_object_agg(s.slug, s.spec),
           pg_catalog.bool_and(pg_catalog.age(s.xmin) > 0)
      into v_versions, v_specs, v_settled
      from docpal_private.table_specs s
     where s.company_id = (p_caller->>'company_id')::uuid and s.slug = any (v_deps);
    if v_specs is distinct from p_state->'specs' or not v_settled then
        return;
    end if;
    insert into docpal_private.query_cache as c (slot, key, company_id, deps, versions, perms, statement, params)
    values (pg_catalog.hashtext(p_key) & 8191, p_key, (p_caller->>'company_id')::uuid,
            v_deps, v_versions,
            case when p_state ? 'who' then p_state->'perms' end,
            p_statement, p_state->'params')
    on conflict (slot) do update
       set key = excluded.key, company_id = excluded.company_id, deps = excluded.deps, versions = excluded.versions,
           perms = excluded.perms, statement = excluded.statement, params = excluded.params;
end
$$;
