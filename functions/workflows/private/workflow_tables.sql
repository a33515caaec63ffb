create or replace function docpal_private.workflow_tables(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The company's workflow log (<schema>._workflow_log: every approval and
   every state change made by docpal.transition_record), made by the first
   define_workflow of the company (not with the company: most companies
   never define a workflow, and every relation costs create_company time).
   Until then no record has a workflow history, which is what the absent
   table means. */
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._workflow_log', p_schema)) is not null then
        return;
    end if;
    -- two first writers of a company: one creates, the other finds it made
    perform docpal_private.company_lock(p_schema, 'workflow_tables');
    if pg_catalog.to_regclass(pg_catalog.format('%I._workflow_log', p_schema)) is null then
        execute pg_catalog.format('create table %1$I._workflow_log (
                id         bigserial primary key,
                at         timestamptz not null default pg_catalog.now(),
                "table"    text not null,
                record_id  uuid not null,
                workflow   text not null,
                transition text not null,
                from_state text,
                to_state   text,
                user_id    uuid,
                comment    text,
                kind       text not null check (kind in (''approval'', ''transition''))
            )', p_schema);
        execute pg_catalog.format('create index on %1$I._workflow_log ("table", record_id, id)', p_schema);
        execute pg_catalog.format('comment on table %1$I._workflow_log is %2$L', p_schema,
                                  'docpal workflows: every approval and state change of docpal.transition_record, oldest first.');
    end if;
end
$$;
