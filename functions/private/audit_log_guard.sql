create or replace function docpal_private.audit_log_guard()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* BEFORE UPDATE/DELETE (row) and TRUNCATE (statement) on every company's
   _audit_log (and its partitions), _audit_chain and _audit_seals: they are
   append-only for every role, superusers and the owner included (42501).
   Only DELETE and TRUNCATE pass, under the maintenance switch
   (SET LOCAL docpal.audit_maintenance = on) that retention uses; UPDATE
   never does. */
begin
    if tg_op <> 'UPDATE' and pg_catalog.current_setting('docpal.audit_maintenance', true) = 'on' then
        if tg_op = 'DELETE' then
            return old;
        end if;
        return null;
    end if;
    raise exception using errcode = '42501',
        message = pg_catalog.format('the audit log is append-only: %s on %s refused', tg_op, tg_table_name),
        hint = 'Retention runs under SET LOCAL docpal.audit_maintenance = on (docpal.maintain_audit_log).';
end
$$;
