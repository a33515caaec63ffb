create or replace function docpal_private.verify_audit(p_schema text)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Checks a company's sealed chain, set-based (every link against the stored
   hash of the one before it, so no step waits for another):
   {ok, checked, first_broken}. A link holds when its entry exists and its
   hash is sha256(hash of seal - 1 || entry content), where seal - 1 is the
   link before it, a retention anchor, or (for seal 1) 32 zero bytes. A cut-off
   tail is caught by the last sealing run's record: first_broken is then the
   id of the entry that run ended with. */
declare
    v_checked bigint;
    v_broken_seal bigint;
    v_broken bigint;
begin
    execute pg_catalog.format(
        'select pg_catalog.count(*), pg_catalog.min(v.seal) filter (where not v.ok)
           from (select c.seal,
                        coalesce(c.hash = pg_catalog.sha256(
                            case when pg_catalog.lag(c.seal) over w = c.seal - 1 then pg_catalog.lag(c.hash) over w
                                 when c.seal = 1 then pg_catalog.decode(pg_catalog.repeat(''00'', 32), ''hex'')
                                 else (select a.hash from %1$I._audit_seals a
                                        where a.seal = c.seal - 1 and a.kind = ''anchor'' limit 1)
                            end || %2$s), false) as ok
                   from %1$I._audit_chain c left join %1$I._audit_log l on l.id = c.entry_id
                 window w as (order by c.seal)) v',
        p_schema, docpal_private.audit_content_sql('l'))
       into v_checked, v_broken_seal;
    if v_broken_seal is not null then
        execute pg_catalog.format('select c.entry_id from %I._audit_chain c where c.seal = $1', p_schema)
           into v_broken using v_broken_seal;
    else
        -- the chain must still reach the last run's end (or the anchor retention left for it)
        execute pg_catalog.format(
            'select r.entry_id
               from (select s.seal, s.entry_id, s.hash from %1$I._audit_seals s where s.kind = ''run''
                      order by s.seal desc, s.id desc limit 1) r
              where not exists (select from %1$I._audit_chain c where c.seal = r.seal and c.entry_id = r.entry_id and c.hash = r.hash)
                and not exists (select from %1$I._audit_seals a where a.kind = ''anchor'' and a.seal = r.seal and a.hash = r.hash)',
            p_schema)
           into v_broken;
    end if;
    return pg_catalog.jsonb_build_object('ok', v_broken is null, 'checked', v_checked, 'first_broken', v_broken);
end
$$;
