create or replace function docpal_private.uncovered_column(p_grants jsonb, p_matched boolean[], p_columns text[])
    returns text
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The first of p_columns (the columns a write sets) that no grant of
   p_grants covering the row (p_matched, docpal_private.record_cells) gives;
   '' when no grant covers the row at all; null when every column is
   covered. A write grant gives its columns on the rows its filter
   matches, cell by cell, as a read grant does. */
    select case
        when not coalesce(true = any (p_matched), false) then ''
        else (select c from pg_catalog.unnest(p_columns) with ordinality u(c, o)
               where not exists (select from pg_catalog.jsonb_array_elements(p_grants) with ordinality g(g, i)
                                  where p_matched[g.i]
                                    and (coalesce(g.g->'columns', 'null') = 'null' or g.g->'columns' ? u.c))
               order by u.o limit 1)
    end
$$;
