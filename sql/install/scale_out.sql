-- Citus (contract section 10; docs/scale-out.md). Nothing happens without
-- the citus extension. On a Citus coordinator:
--
-- 1. The global tables that code running on a worker (triggers) reads
--    become reference tables, a copy on every node: user_ids
--    (check_user_refs) and switch_keys (the key of the signed internal
--    switches). Neither has a foreign key, so no other table changes; the
--    secrets, with the key that signs client contexts, stay on the
--    coordinator. Every other global table
--    stays an ordinary table on the coordinator, where docpal's functions
--    run: a reference table with foreign keys from local tables would make
--    Citus take over those too, with its limits on their statements.
-- 2. docpal_owner may log in on the workers, and only there. Citus opens
--    its connections to the workers as the current user, and docpal's
--    SECURITY DEFINER functions run as docpal_owner: without LOGIN on the
--    workers every statement on a distributed company fails. On the
--    coordinator, where clients connect, it stays NOLOGIN (contract
--    section 0); the DBA lets only the coordinator reach the workers
--    (docs/scale-out.md). Run again after adding a worker (Citus copies the
--    coordinator's role, NOLOGIN, to a new node): docpal migrate does it.
do $$
declare
    v_table text;
begin
    if not docpal_private.citus_installed() then
        return;
    end if;
    perform 'PRAGMA:disable:check';  -- Citus' catalogs and functions exist only here
    foreach v_table in array array['docpal_private.user_ids', 'docpal_private.switch_keys'] loop
        if not exists (select from pg_catalog.pg_dist_partition p where p.logicalrelid = v_table::regclass) then
            perform pg_catalog.create_reference_table(v_table::regclass);
        end if;
    end loop;
    -- not propagated back: an ALTER ROLE on a worker would otherwise be sent
    -- on to the other nodes, the coordinator included
    perform pg_catalog.run_command_on_workers(
        'do $w$ begin set local citus.enable_alter_role_propagation = off; '
        'alter role docpal_owner login; end $w$');
    perform 'PRAGMA:enable:check';
end
$$;
