create or replace function docpal_private.verify_audit(p_schema text)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Checks a company's sealed chain, set-based (every entry against the
   stored hash of the one before it, so no step waits for another):
   {ok, checked, first_broken}. An entry holds when its hash is
   sha256(hash of seal - 1 || content), where seal - 1 is the entry before
   it, a retention anchor, or (for seal 1) 32 zero bytes. A missing tail is
   caught by the last sealing run's record: first_broken is then the id of
   the entry that run ended with. */
declare
    v_checked bigint;
    v_broken_seal bigint;
    v_broken bigint;
begin
    execute pg_catalog.format(
        'select pg_catalog.count(*), pg_catalog.min(v.seal) filter (where not v.ok)
           from (select l.seal,
                        coalesce(l.hash = pg_catalog.sha256(
                            case when pg_catalog.lag(l.seal) over w = l.seal - 1 then pg_catalog.lag(l.hash) over w
                                 when l.seal = 1 then pg_catalog.decode(pg_catalog.repeat(''00'', 32), ''hex'')
                                 else (select s.hash from %1$I._audit_seals s where s.seal = l.seal - 1 and s.kind = ''anchor'')
                            end || %2$s), false) as ok
                   from %1$I._audit_log l
                  where l.seal is not null
                 window w as (order by l.seal)) v',
        p_schema, docpal_private.audit_content_sql('l'))
       into v_checked, v_broken_seal;
    if v_broken_seal is not null then
        execute pg_catalog.format('select l.id from %I._audit_log l where l.seal = $1 limit 1', p_schema)
           into v_broken using v_broken_seal;
    else
        -- the last run's end must still be there, unchanged
        execute pg_catalog.format(
            'select r.entry_id from (select s.seal, s.entry_id, s.hash from %1$I._audit_seals s where s.kind = ''run''
                                      order by s.seal desc limit 1) r
              where not exists (select from %1$I._audit_log l where l.seal = r.seal and l.id = r.entry_id and l.hash = r.hash)',
            p_schema)
           into v_broken;
    end if;
    return pg_catalog.jsonb_build_object('ok', v_broken is null, 'checked', v_checked, 'first_broken', v_broken);
end
$$;
