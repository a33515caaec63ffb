create or replace function docpal_private.event_notice(
    p_company uuid, p_event bigint, p_table text, p_record uuid, p_action text, p_version integer,
    p_changed text[], p_user uuid, p_at timestamptz, p_workflow jsonb default null)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The NOTIFY payload of one event (with "workflow" where a rule matched): never the row, and always under the
   8000 bytes NOTIFY takes. Only `changed` can grow (a table of many long
   column names); past the limit it becomes null with "changed_truncated":
   true, and the outbox row keeps the whole list. */
declare
    v_payload jsonb := pg_catalog.jsonb_build_object(
        'event_id', p_event, 'company_id', p_company, 'table', p_table, 'record_id', p_record,
        'action', p_action, 'version', p_version, 'changed', p_changed, 'user_id', p_user, 'at', p_at)
        || case when p_workflow is null then '{}'::jsonb else pg_catalog.jsonb_build_object('workflow', p_workflow) end;
    v_text text := v_payload::text;
begin
    if pg_catalog.octet_length(v_text) < 8000 then
        return v_text;
    end if;
    return (v_payload || '{"changed": null, "changed_truncated": true}'::jsonb)::text;
end
$$;
