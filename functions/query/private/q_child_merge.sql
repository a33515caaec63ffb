create or replace function docpal_private.q_child_merge(p_state jsonb, p_child jsonb)
    returns jsonb
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The parent state p_state after its child query p_child
       (docpal_private.q_child_state) was compiled: what the two share comes
       back from the child (catalog specs and permissions read, cell masks
       worked out, parameters added, children and joins counted, the time
       zone's and the company id's parameters); the parent keeps its own root, alias, joins and pieces. */
    select p_state || (select coalesce(pg_catalog.jsonb_object_agg(e.key, e.value), '{}')
                         from pg_catalog.jsonb_each(p_child) e
                        where e.key in ('specs', 'perms', 'cells', 'masks', 'params', 'base', 'children', 'tz', 'company', 'vars', 'join_total'))
$$;
