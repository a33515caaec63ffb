create or replace function docpal_private.audit_log_guard()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* BEFORE UPDATE/DELETE (row) and TRUNCATE (statement) on every company's
   _audit_log and its partitions: the log is append-only for every role,
   superusers and the owner included (42501). Two exceptions:
   - the sealer's one write of seal and hash into an entry that has neither,
     with every other column unchanged;
   - DELETE and TRUNCATE under the maintenance switch
     (SET LOCAL docpal.audit_maintenance = on), for retention. */
begin
    if tg_op = 'UPDATE' then
        if old.seal is null and old.hash is null and new.seal is not null and new.hash is not null
           and (new.id, new.at, new.txid, new.user_id, new.db_role, new."table", new.record_id,
                new.action, new.version, new.old, new.new, new.changed, new.summary)
               is not distinct from
               (old.id, old.at, old.txid, old.user_id, old.db_role, old."table", old.record_id,
                old.action, old.version, old.old, old.new, old.changed, old.summary) then
            return new;
        end if;
    elsif pg_catalog.current_setting('docpal.audit_maintenance', true) = 'on' then
        if tg_op = 'DELETE' then
            return old;
        end if;
        return null;
    end if;
    raise exception using errcode = '42501',
        message = pg_catalog.format('the audit log is append-only: %s refused', tg_op),
        hint = 'Retention runs under SET LOCAL docpal.audit_maintenance = on (docpal.maintain_audit_log).';
end
$$;
