create or replace function docpal_private.audit_log_guard()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* BEFORE UPDATE/DELETE (row) and TRUNCATE (statement) on every company's
   _audit_log (and its partitions), _audit_chain and _audit_seals: they are
   append-only for every role, superusers and the owner included (42501).
   Only DELETE and TRUNCATE pass, under the signed maintenance switch that
   retention turns on (docpal_private.switch_set('audit_maintenance', 'on'),
   valid for its own transaction only; a plain setting is not it); UPDATE
   never does. */
begin
    if tg_op <> 'UPDATE' and docpal_private.switch('audit_maintenance') = 'on' then
        if tg_op = 'DELETE' then
            return old;
        end if;
        return null;
    end if;
    raise exception using errcode = '42501',
        message = pg_catalog.format('the audit log is append-only: %s on %s refused', tg_op, tg_table_name),
        hint = 'Retention runs under docpal''s own maintenance switch (docpal.maintain_audit_log).';
end
$$;
