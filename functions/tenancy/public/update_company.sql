-- grant: docpal_service
create or replace function docpal.update_company(id uuid, patch jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Changes a company's name and/or settings (each replaced whole, as a PATCH
   of those fields); returns the company. P0002 for an unknown id, 22023 for
   any other key or a value of the wrong kind (and for a settings.time_zone
   PostgreSQL does not know, when an event rule's $now or a scheduled
   report needs it). A new settings.time_zone moves the company's scheduled
   reports to their next time in the new zone. */
declare
    v_company record;
    v_old record;
    v_key text;
begin
    perform docpal_private.check_spec_size(update_company.patch, 'update_company');
    if update_company.patch is null or pg_catalog.jsonb_typeof(update_company.patch) <> 'object' then
        raise exception using errcode = '22023', message = 'a company patch must be a JSON object';
    end if;
    for v_key in select k from pg_catalog.jsonb_object_keys(update_company.patch) k loop
        if v_key not in ('name', 'settings') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('company field %L cannot be changed', v_key),
                hint = 'update_company changes name and settings.';
        end if;
    end loop;
    if update_company.patch ? 'name' and (pg_catalog.jsonb_typeof(update_company.patch->'name') <> 'string'
                             or pg_catalog.btrim(update_company.patch->>'name') = '') then
        raise exception using errcode = '22023', message = 'a company name must be a non-empty string';
    end if;
    if update_company.patch ? 'settings' and pg_catalog.jsonb_typeof(update_company.patch->'settings') <> 'object' then
        raise exception using errcode = '22023', message = 'company settings must be a JSON object';
    end if;
    v_company := docpal_private.company_for_update(update_company.id);
    v_old := v_company;
    update docpal_private.companies c
       set name = coalesce(update_company.patch->>'name', c.name),
           settings = coalesce(update_company.patch->'settings', c.settings),
           updated_at = pg_catalog.now()
     where c.id = update_company.id
    returning * into v_company;
    -- settings.events switches the company's events: the capture functions are made afresh
    -- and so does settings.time_zone: an event rule's $now on a date or time
    -- path is baked in with the zone (docpal_private.event_rule_sql)
    if (v_old.settings->'events' is distinct from 'false'::jsonb) <> (v_company.settings->'events' is distinct from 'false'::jsonb)
       or v_old.settings->'time_zone' is distinct from v_company.settings->'time_zone' then
        perform docpal_private.audit_setup(v_company.schema_name::regnamespace);
    end if;
    -- a report schedule's fields are wall-clock time in the company's zone: each next run moves with it
    if v_old.settings->'time_zone' is distinct from v_company.settings->'time_zone' then
        perform docpal_private.report_reschedule(v_company.id, v_company.schema_name);
    end if;
    return docpal_private.company_json(pg_catalog.to_jsonb(v_company));
end
$$;
