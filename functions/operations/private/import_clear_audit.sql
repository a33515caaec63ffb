create or replace function docpal_private.import_clear_audit(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Takes out the audit entries an import in history mode wrote into the
   company it is making (docpal_private.import_part, when the exported
   history begins, or import_finish): the company was created in this
   transaction, so its log holds those entries only, and no one else sees
   it. Under docpal's signed maintenance switch, which the log's guard
   (docpal_private.audit_log_guard) lets through. Usually there are none:
   import_begin turns the capture of inserts off in history mode (not in a
   Citus distributed company, whose capture stays on). The id sequence goes
   on where it is. */
begin
    perform docpal_private.switch_set('audit_maintenance', 'on');
    execute pg_catalog.format('delete from %I._audit_log', p_schema);
    perform docpal_private.switch_set('audit_maintenance', null);
end
$$;
