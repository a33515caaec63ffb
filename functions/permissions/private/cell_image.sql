create or replace function docpal_private.cell_image(p_grants jsonb, p_matched boolean[], p_record jsonb)
    returns jsonb
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* What the caller may read of a record (contract section 6, grants combine
   cell by cell): p_grants are the caller's read grants, p_matched which of
   them cover the record's row (docpal_private.record_cells). A cell is
   readable when one grant covers both its row and its column. System
   columns are always kept; a column no read grant names is left out; a
   column readable on other rows but not this one reads as null. A row no
   grant covers keeps its system columns only (a write returns its id).
   A grant of every column and every row returns the record as it is. */
    select case
        when p_record is null then null
        when exists (select from pg_catalog.jsonb_array_elements(coalesce(p_grants, '[]')) g
                      where coalesce(g->'columns', 'null') = 'null' and coalesce(g->'row_filter', 'null') = 'null')
            then p_record
        else coalesce((
            select pg_catalog.jsonb_object_agg(kv.key,
                       case when kv.key = any (docpal_private.system_columns())
                                 or exists (select from pg_catalog.jsonb_array_elements(p_grants) with ordinality g(g, i)
                                             where p_matched[g.i]
                                               and (coalesce(g.g->'columns', 'null') = 'null' or g.g->'columns' ? kv.key))
                            then kv.value else 'null'::jsonb end)
              from pg_catalog.jsonb_each(p_record) kv
             where kv.key = any (docpal_private.system_columns())
                or (coalesce(true = any (p_matched), false)
                    and exists (select from pg_catalog.jsonb_array_elements(p_grants) g
                                 where coalesce(g->'columns', 'null') = 'null' or g->'columns' ? kv.key))), '{}')
    end
$$;
