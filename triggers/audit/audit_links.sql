create or replace function docpal_private.audit_links()
    returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* AFTER INSERT / UPDATE / DELETE (per statement, transition tables
   _docpal_new/_docpal_old) and BEFORE TRUNCATE on a relation_many junction
   table: a change of linked ids is an entry of the source record
   (docpal_private.log_links). The lists before the statement are the lists
   now with the statement's rows taken out and its old rows put back.
   TG_ARGV: table slug, column name, junction table. docpal's own record
   functions log their link changes themselves, one entry per column written
   (write_links turns the signed switch audit_links off around its
   statements; a plain setting of that name changes nothing). */
declare
    v_slug text := tg_argv[0];
    v_column text := tg_argv[1];
    v_junction text := tg_argv[2];
    v_label text := docpal_private.switch('audit_action');
    v_sources uuid[];
    v_before jsonb;
begin
    if docpal_private.switch('audit_links') = 'off' then
        return null;
    end if;
    if tg_op = 'TRUNCATE' then
        execute pg_catalog.format('select pg_catalog.array_agg(distinct j.source_id) from %I.%I j', tg_table_schema, v_junction)
           into v_sources;
        v_before := docpal_private.link_lists(tg_table_schema, v_junction, v_sources);
        perform docpal_private.log_links(tg_table_schema, v_slug, v_column, v_before, '{}', 'UPDATE');
        return null;
    end if;
    execute pg_catalog.format(
        'select pg_catalog.array_agg(distinct s.source_id) from (%s) s',
        case tg_op when 'INSERT' then 'select source_id from _docpal_new'
                   when 'DELETE' then 'select source_id from _docpal_old'
                   else 'select source_id from _docpal_new union all select source_id from _docpal_old' end)
       into v_sources;
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_object_agg(x.source_id, x.targets), ''{}'')
           from (select r.source_id, pg_catalog.jsonb_agg(r.target_id order by r.position) as targets
                   from (select j.source_id, j.target_id, j.position from %I.%I j
                          where j.source_id = any ($1) %s
                         %s) r
                  group by r.source_id) x',
        tg_table_schema, v_junction,
        case when tg_op in ('INSERT', 'UPDATE')
             then 'and not exists (select from _docpal_new n where n.source_id = j.source_id and n.target_id = j.target_id)' else '' end,
        case when tg_op in ('DELETE', 'UPDATE')
             then 'union all select o.source_id, o.target_id, o.position from _docpal_old o' else '' end)
       into v_before using v_sources;
    perform docpal_private.log_links(tg_table_schema, v_slug, v_column, v_before,
                                     docpal_private.link_lists(tg_table_schema, v_junction, v_sources),
                                     case when v_label in ('ROLLBACK', 'RESTORE') then v_label else 'UPDATE' end);
    return null;
end
$$;
