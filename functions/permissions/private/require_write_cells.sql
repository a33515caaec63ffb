create or replace function docpal_private.require_write_cells(
    p_slug text, p_action text, p_after boolean, p_grants jsonb, p_matched boolean[], p_columns text[], p_id uuid)
    returns void
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* A write grant's row filter holds on both sides of the write (contract
   section 6): p_grants are the caller's grants of p_action, p_matched which
   of them cover the row (before the write, or after it with p_after), and
   every column written (p_columns) must be given by one of those.
   Before: no grant covers the row, P0002 (the caller may not see it); a
   column not given on this row, 42501. After: 23514 with rule row_filter
   (DETAIL {column, rule, value}; value always null, the row is not one the
   caller may write); raised inside the writing function, it rolls the
   write back. */
declare
    v_column text := docpal_private.uncovered_column(p_grants, p_matched, p_columns);
begin
    if v_column is null then
        return;
    end if;
    if not p_after and v_column = '' then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', p_id, p_slug);
    elsif not p_after then
        raise exception using errcode = '42501',
            message = pg_catalog.format('permission denied: %s of column %s of table %s on this record', p_action, v_column, p_slug);
    end if;
    raise exception using errcode = '23514',
        message = pg_catalog.format('%s: the %s record falls outside the rows the caller may %s%s', p_slug,
                                    case p_action when 'create' then 'new' else 'updated' end, p_action,
                                    case when v_column = '' then '' else pg_catalog.format(' (column %s)', v_column) end),
        detail = pg_catalog.jsonb_build_object('column', nullif(v_column, ''), 'rule', 'row_filter', 'value', null)::text;
end
$$;
