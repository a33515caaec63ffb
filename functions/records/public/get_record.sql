-- grant: docpal_service, docpal_app
create or replace function docpal.get_record(slug text, id uuid)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The record, or null when there is none (or no read grant of the caller
   covers its row), with only the cells the caller may read (grants combine
   cell by cell: docpal_private.cell_image): a column no read grant names is
   left out, one readable only on other rows reads as null. One statement
   reads the row and evaluates every grant's filter on it. 42P01 for an
   unknown table, 42501 without read permission. */
declare
    v_ctx docpal_private.caller;
    v_spec jsonb;
    v_perm jsonb;
    v_record jsonb;
    v_matched boolean[];
begin
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, get_record.slug);
    v_perm := docpal_private.require_permission(v_ctx, get_record.slug, 'read');
    select c.record, c.matched into v_record, v_matched
      from docpal_private.record_cells(v_ctx.schema_name, v_spec, v_perm->'grants', array[get_record.id]) c;
    if v_record is null or not (true = any (v_matched)) then
        return null;  -- missing, or outside every read grant's filter: invisible
    end if;
    return docpal_private.cell_image(v_perm->'grants', v_matched, v_record);
end
$$;
