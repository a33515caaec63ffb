create or replace function docpal_private.report_forget_table(p_schema text, p_table text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Deletes the snapshots (stored results) of the company's reports that
   could hold data of table p_table, which is being dropped or losing a
   column (docpal.drop_table, docpal.drop_column call it before the table
   or column leaves the catalog, in their transaction): a snapshot would
   otherwise keep showing the data that is gone (report_snapshots, a
   dashboard's fresh snapshot) while a run of the same report fails. Those
   are the reports on p_table and on every table linked to it by relation
   or relation_many columns, either way and through any number of tables:
   a path (team_id.name) or a list (an embed of the records pointing at a
   table) reaches that far. The reports themselves stay: a run now gives
   the query's own error (42P01, 42703), as for any report whose table
   changed. Nothing to do for a company without reports (the tables are
   made by its first save). */
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._report_snapshots', p_schema)) is null then
        return;
    end if;
    execute pg_catalog.format(
        'with recursive link(a, b) as (
             select c.slug, col->>''target''
               from %1$I._catalog c, pg_catalog.jsonb_array_elements(c.spec->''columns'') col
              where c.kind = ''table'' and col->>''type'' in (''relation'', ''relation_many'')),
         reach(slug) as (
             select $1
              union
             select case when l.a = r.slug then l.b else l.a end
               from reach r join link l on r.slug in (l.a, l.b))
         delete from %1$I._report_snapshots s
          using %1$I._reports p
          where p.slug = s.report and p.table_slug in (select r.slug from reach r)', p_schema)
      using p_table;
end
$$;
