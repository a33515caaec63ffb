create or replace function docpal_private.audit_capture()
    returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* AFTER INSERT / UPDATE / DELETE (per statement, with transition tables
   _docpal_new/_docpal_old) and BEFORE TRUNCATE on every docpal table: runs
   the capture statement docpal_private.audit_triggers generated for this
   table and event (TG_ARGV[1]), one set-based INSERT into the company's
   _audit_log in the writer's transaction. TG_ARGV[0] is the table slug.
   docpal.audit_action (set locally by rollback_record / restore_record /
   rollback_table) labels an UPDATE as ROLLBACK and an INSERT as RESTORE. */
declare
    v_label text := pg_catalog.current_setting('docpal.audit_action', true);
    v_action text := case when tg_op = 'TRUNCATE' then 'DELETE'
                          when tg_op = 'UPDATE' and v_label = 'ROLLBACK' then 'ROLLBACK'
                          when tg_op = 'INSERT' and v_label = 'RESTORE' then 'RESTORE'
                          else tg_op end;
begin
    execute tg_argv[1]
      using docpal_private.context_user(), tg_argv[0], v_action,
            case v_action when 'INSERT' then 'created' when 'RESTORE' then 'restored' else 'deleted' end;
    return null;
end
$$;
