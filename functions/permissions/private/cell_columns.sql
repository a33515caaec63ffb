create or replace function docpal_private.cell_columns(p_grants jsonb, p_matched boolean[])
    returns text[]
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The columns the grants p_grants give on a row (p_matched: which of them
   cover it, docpal_private.record_cells), for error DETAILs that may show a
   value only where the caller may read it: null when one of them gives
   every column, {} when none covers the row. With p_matched null the row is
   not known (a record not written yet): only grants without a row filter
   count. */
    select case
        when exists (select from pg_catalog.jsonb_array_elements(coalesce(p_grants, '[]')) with ordinality g(g, i)
                      where coalesce(p_matched[g.i], coalesce(g.g->'row_filter', 'null') = 'null')
                        and coalesce(g.g->'columns', 'null') = 'null') then null
        else array(select distinct c
                     from pg_catalog.jsonb_array_elements(coalesce(p_grants, '[]')) with ordinality g(g, i),
                          pg_catalog.jsonb_array_elements_text(g.g->'columns') c
                    where coalesce(p_matched[g.i], coalesce(g.g->'row_filter', 'null') = 'null'))
    end
$$;
