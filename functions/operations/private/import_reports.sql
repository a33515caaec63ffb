create or replace function docpal_private.import_reports(p_schema text, p_reports jsonb, p_dashboards jsonb, p_map jsonb)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The reports and dashboards of an import (docpal_private.import_begin,
   acting as the import's owner): reports first (widgets name them), each
   made with docpal.save_report or docpal.save_dashboard, so it is checked
   as a client's would be and a scheduled report is due again (its
   report_schedule row: the next time after now), then given back its
   exported saved_by (mapped like every user reference of the import:
   docpal_private.import_map_users, p_map {exported id: id here}) and
   saved_at. Snapshots are not exported: the copy's scheduled runs make
   them. 22023 for an entry whose saved_by is not a user id, the save
   functions' codes for what they refuse, 23503 when saved_by names a user
   the platform does not have. */
declare
    v_item jsonb;
    v_kind text;
begin
    foreach v_kind in array array['_reports', '_dashboards'] loop
        for v_item in
            select x from pg_catalog.jsonb_array_elements(coalesce(docpal_private.import_map_users(
                case v_kind when '_reports' then coalesce(p_reports, '[]') else coalesce(p_dashboards, '[]') end,
                p_map, array['saved_by']), '[]')) x
        loop
            if coalesce(v_item->'saved_by', 'null') <> 'null'
               and (pg_catalog.jsonb_typeof(v_item->'saved_by') <> 'string'
                    or v_item->>'saved_by' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$') then
                raise exception using errcode = '22023', message = 'an exported report or dashboard has saved_by: a user id';
            end if;
            if v_kind = '_reports' then
                perform docpal.save_report(v_item - 'saved_by' - 'saved_at');
            else
                perform docpal.save_dashboard(v_item - 'saved_by' - 'saved_at');
            end if;
            -- the exported saver and time (absent: the import's owner, now); values computed
            -- here, not over a column (Citus refuses a stable function over one in an UPDATE)
            execute pg_catalog.format('update %I.%I t set saved_by = $2, saved_at = $3 where t.slug = $1', p_schema, v_kind)
              using v_item->>'slug',
                    coalesce((v_item->>'saved_by')::uuid, docpal.current_user_id()),
                    coalesce((v_item->>'saved_at')::timestamptz, pg_catalog.now());
        end loop;
    end loop;
end
$$;
