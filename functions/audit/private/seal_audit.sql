create or replace function docpal_private.seal_audit(p_schema text)
    returns bigint
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The sealer: chains the committed entries of a company's audit log that
   are not in _audit_chain yet, in id order, after the chain's head:
   seal = previous seal + 1, hash = sha256(previous hash || content). One
   sealer per company at a time (its company lock, docpal_private.company_lock:
   a row no client can lock, unlike an advisory key); writers never wait for it,
   and the log is never rewritten (the chain is its own insert-only table).
   An entry that commits after a larger id was sealed is sealed in a later
   run, after it: the chain order is the seal order, so it never forks.

   Which entries to look at: every run records the id sequence's value
   (id_mark) and then takes its own transaction id (the bound, stored as the
   snapshot bound:bound:). Entries are written after their transaction has an
   id (the capture triggers run after the row's write; TRUNCATE's takes one
   first), so every entry at or below id_mark belongs to a transaction older
   than the bound. Once a later run's snapshot has an xmin past the bound,
   all of those have finished before it, that run sees and seals them all,
   and no entry at or below id_mark is unsealed ("settled"). A run scans only
   ids above the settled mark, so its cost follows the new entries, not the
   log. (A snapshot's own xip list is not enough: a transaction whose id is
   at or above the snapshot's xmax is running but not listed.) A run inside a
   transaction that already had an id cannot bound what came after it and
   settles nothing. A company that Citus holds writes its entries with ids
   from its clock, in commit order (docpal_private.clock_take): there what a
   run sealed is settled at once, and the sequence and transaction ids,
   which are the coordinator's, play no part. Records the run in
   _audit_seals and returns the number of entries sealed. */
declare
    v_seal bigint;
    v_hash bytea;
    v_settled bigint;
    v_mark bigint;
    v_snap pg_snapshot;
    v_fresh boolean;
    v_bound pg_snapshot;
    v_from bigint;
    v_ids bigint[];
    v_contents bytea[];
    v_hashes bytea[];
    v_total bigint := 0;
    v_last bigint;
    v_newly_settled bigint;
    v_sequence text := pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I._audit_log', p_schema), 'id');
begin
    perform docpal_private.company_lock(p_schema, 'seal_audit');
    execute pg_catalog.format(
        'select s.seal, s.hash, s.entry_id,
                (select pg_catalog.max(r.settled) from %1$I._audit_seals r where r.kind = ''run'')
           from %1$I._audit_seals s order by s.seal desc, s.id desc limit 1', p_schema)
       into v_seal, v_hash, v_last, v_settled;
    v_seal := coalesce(v_seal, 0);
    v_hash := coalesce(v_hash, pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex'));
    v_settled := coalesce(v_settled, 0);
    v_fresh := pg_catalog.pg_current_xact_id_if_assigned() is null;
    execute pg_catalog.format('select case when s.is_called then s.last_value else 0 end from %s s', v_sequence)
       into v_mark;
    if v_fresh then
        -- taken after the mark: younger than every transaction that wrote an entry at or below it
        v_bound := pg_catalog.format('%1$s:%1$s:', pg_catalog.pg_current_xact_id())::pg_snapshot;
    else
        v_mark := v_settled;  -- no bound: this run's mark settles nothing
    end if;
    v_snap := pg_catalog.pg_current_snapshot();
    v_from := v_settled;
    loop
        execute pg_catalog.format(
            'select pg_catalog.array_agg(x.id order by x.id), pg_catalog.array_agg(x.content order by x.id)
               from (select l.id, %2$s as content from %1$I._audit_log l
                      where l.id > $1 and not exists (select from %1$I._audit_chain c where c.entry_id = l.id)
                      order by l.id limit 10000) x',
            p_schema, docpal_private.audit_content_sql('l'))
           into v_ids, v_contents using v_from;
        exit when v_ids is null;
        v_hashes := '{}';
        for i in 1 .. pg_catalog.cardinality(v_ids) loop
            v_hash := pg_catalog.sha256(v_hash || v_contents[i]);
            v_hashes := v_hashes || v_hash;
        end loop;
        execute pg_catalog.format(
            'insert into %I._audit_chain (seal, entry_id, hash)
             select $1 + u.o, u.id, u.hash
               from rows from (pg_catalog.unnest($2::bigint[]), pg_catalog.unnest($3::bytea[])) with ordinality u(id, hash, o)',
            p_schema)
          using v_seal, v_ids, v_hashes;
        v_seal := v_seal + pg_catalog.cardinality(v_ids);
        v_total := v_total + pg_catalog.cardinality(v_ids);
        v_last := v_ids[pg_catalog.cardinality(v_ids)];
        v_from := v_last;
    end loop;
    if docpal_private.company_distributed(p_schema) then
        -- a company that Citus holds: its entries take ids from its clock in
        -- commit order (docpal_private.clock_take), and those written before
        -- it was distributed have all committed, so everything up to what
        -- this run sealed is settled (sequence and transaction ids of the
        -- coordinator say nothing about a worker's writes)
        v_newly_settled := greatest(v_settled, v_last);
    else
        -- the new settled mark: the highest id_mark of an earlier run whose
        -- bound every transaction had passed when this run's snapshot was taken
        execute pg_catalog.format(
            'select pg_catalog.max(s.id_mark) from %I._audit_seals s
              where s.kind = ''run'' and s.id_mark > $1
                and pg_catalog.pg_snapshot_xmin($2) > pg_catalog.pg_snapshot_xmax(s.snap)', p_schema)
           into v_newly_settled using v_settled, v_snap;
        v_newly_settled := greatest(v_settled, v_newly_settled);
    end if;
    if v_total > 0 or v_newly_settled > v_settled or v_mark > v_settled then
        execute pg_catalog.format(
            'insert into %I._audit_seals (seal, entry_id, hash, kind, snap, id_mark, settled)
             values ($1, $2, $3, ''run'', $4, $5, $6)', p_schema)
          using v_seal, coalesce(v_last, 0), v_hash, v_bound, v_mark, v_newly_settled;
    end if;
    return v_total;
end
$$;
