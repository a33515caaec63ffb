-- grant: docpal_service, docpal_app
create or replace function docpal.drop_event_rule(id uuid)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Removes an event rule (owners and admins); P0002 when there is none with this id. */
declare
    v_ctx record;
    v_table text;
begin
    select * into v_ctx from docpal_private.require_admin();
    execute pg_catalog.format('delete from %I._catalog c where c.kind = $1 and c.slug = $2 returning c.spec->>''table''',
                              v_ctx.schema_name)
       into v_table using 'event_rule', drop_event_rule.id::text;
    if v_table is null then
        raise exception using errcode = 'P0002', message = pg_catalog.format('event rule %s does not exist', drop_event_rule.id);
    end if;
    perform docpal_private.audit_triggers(v_ctx.schema_name, docpal_private.table_spec(v_ctx.schema_name, v_table));
end
$$;
