create or replace function docpal_private.history_access(
    p_caller docpal_private.caller, p_spec jsonb, p_id uuid)
    returns text[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* What the caller may see of the history of record p_id: null when nothing,
   else the columns to leave out of it. Grants combine cell by cell, judged
   on the record as it is now: the columns given by the read grants whose
   filter its row matches are shown (a column another grant gives only on
   other rows is left out of every entry). A record that no longer exists
   can be matched by no filter: only grants without a row filter count, and
   without one the history is hidden. 42501 without read permission on the
   table. */
declare
    v_perm jsonb := docpal_private.require_permission(p_caller, p_spec->>'slug', 'read');
    v_found boolean;
    v_matched boolean[];
    v_columns text[];
begin
    if exists (select from pg_catalog.jsonb_array_elements(v_perm->'grants') g
                where coalesce(g->'row_filter', 'null') = 'null' and coalesce(g->'columns', 'null') = 'null') then
        -- a grant without a row filter gives every column (owners, admins):
        -- every row shows whole, gone or not, so the record is not looked up
        -- (docpal_private.cell_columns(grants, null) is null, without its call:
        -- a third of this function's time)
        return '{}';
    end if;
    select true, c.matched into v_found, v_matched
      from docpal_private.record_cells(p_caller.schema_name, p_spec, v_perm->'grants', array[p_id]) c;
    if v_found and not coalesce(true = any (v_matched), false) then
        return null;  -- outside every read grant's filter: invisible
    end if;
    if not coalesce(v_found, false) then
        v_matched := null;  -- gone: only unfiltered grants reach it
        if not exists (select from pg_catalog.jsonb_array_elements(v_perm->'grants') g
                        where coalesce(g->'row_filter', 'null') = 'null') then
            return null;
        end if;
    end if;
    v_columns := docpal_private.cell_columns(v_perm->'grants', v_matched);
    if v_columns is null then
        return '{}';
    end if;
    return array(select c->>'name' from pg_catalog.jsonb_array_elements(p_spec->'columns') c
                  where (c->>'name') <> all (v_columns));
end
$$;
