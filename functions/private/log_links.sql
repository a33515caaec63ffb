create or replace function docpal_private.log_links(
    p_schema text, p_slug text, p_column text, p_before jsonb, p_after jsonb, p_action text)
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* One audit entry per source record whose list of links in relation_many
   column p_column went from p_before to p_after ({"<source id>": [ids]},
   absent = no links): an UPDATE (or p_action) of that record at its current
   version, old/new holding only the column. A record that is gone (the
   cascade of its own DELETE, which runs before the DELETE entry is
   written) gets its entry with a null version: undoing the DELETE then
   brings its links back too. Returns the number of entries. */
declare
    v_count integer;
begin
    execute pg_catalog.format(
        'insert into %1$I._audit_log (user_id, "table", record_id, action, version, old, new, changed, summary)
         select $1, $2, l.id, $3, p.version,
                pg_catalog.jsonb_build_object($4, l.before), pg_catalog.jsonb_build_object($4, l.after),
                array[$4],
                pg_catalog.format(''%%s: %%s → %%s linked'', $4, pg_catalog.jsonb_array_length(l.before),
                                  pg_catalog.jsonb_array_length(l.after))
           from (select k::uuid as id, coalesce($5 -> k, ''[]'') as before, coalesce($6 -> k, ''[]'') as after
                   from pg_catalog.jsonb_object_keys($5 || $6) k) l
           left join %1$I.%2$I p on p.id = l.id
          where l.before <> l.after',
        p_schema, p_slug)
      using docpal_private.context_user(), p_slug, p_action, p_column, p_before, p_after;
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
