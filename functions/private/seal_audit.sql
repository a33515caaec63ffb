create or replace function docpal_private.seal_audit(p_schema text)
    returns bigint
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The sealer: chains the committed entries of a company's audit log that
   have no seal yet, in id order, after the last sealed one:
   seal = previous seal + 1, hash = sha256(previous hash || content). Only
   one sealer per company runs at a time (advisory lock); writers never wait
   for it. An entry that commits after a larger id was sealed is sealed in a
   later run, after it: the chain order is the seal order, so it never forks
   and is never rewritten. Records the run's last point in _audit_seals (a
   cut-off tail is then noticed) and returns the number of entries sealed. */
declare
    v_seal bigint;
    v_hash bytea;
    v_ids bigint[];
    v_ats timestamptz[];
    v_contents bytea[];
    v_hashes bytea[];
    v_total bigint := 0;
begin
    perform pg_catalog.pg_advisory_xact_lock(4242, pg_catalog.hashtext(p_schema));
    execute pg_catalog.format(
        'select x.seal, x.hash from (select l.seal, l.hash from %1$I._audit_log l where l.seal is not null
                                      union all select s.seal, s.hash from %1$I._audit_seals s) x
          order by x.seal desc limit 1', p_schema)
       into v_seal, v_hash;
    v_seal := coalesce(v_seal, 0);
    v_hash := coalesce(v_hash, pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex'));
    loop
        execute pg_catalog.format(
            'select pg_catalog.array_agg(x.id order by x.id), pg_catalog.array_agg(x.at order by x.id),
                    pg_catalog.array_agg(x.content order by x.id)
               from (select l.id, l.at, %2$s as content from %1$I._audit_log l
                      where l.seal is null order by l.id limit 10000) x',
            p_schema, docpal_private.audit_content_sql('l'))
           into v_ids, v_ats, v_contents;
        exit when v_ids is null;
        v_hashes := '{}';
        for i in 1 .. pg_catalog.cardinality(v_ids) loop
            v_hash := pg_catalog.sha256(v_hash || v_contents[i]);
            v_hashes := v_hashes || v_hash;
        end loop;
        execute pg_catalog.format(
            'update %I._audit_log l set seal = $1 + u.o, hash = u.hash
               from rows from (pg_catalog.unnest($2::bigint[]), pg_catalog.unnest($3::timestamptz[]), pg_catalog.unnest($4::bytea[]))
                    with ordinality u(id, at, hash, o)
              where l.id = u.id and l.at = u.at', p_schema)
          using v_seal, v_ids, v_ats, v_hashes;
        v_seal := v_seal + pg_catalog.cardinality(v_ids);
        v_total := v_total + pg_catalog.cardinality(v_ids);
        execute pg_catalog.format('insert into %I._audit_seals (seal, entry_id, hash, kind) values ($1, $2, $3, ''run'')', p_schema)
          using v_seal, v_ids[pg_catalog.cardinality(v_ids)], v_hash;
    end loop;
    return v_total;
end
$$;
