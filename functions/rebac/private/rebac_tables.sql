create or replace function docpal_private.rebac_tables(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The company's ReBAC tables (_relation_rules, _tuples, indexed both ways)
   and compiled functions, made on the first define_relations or relate,
   not with the company. Until then every check is false. */
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._relation_rules', p_schema)) is not null then
        return;
    end if;
    -- two first writers of a company: one creates, the other finds them made
    perform docpal_private.company_lock(p_schema, 'rebac_tables');
    if pg_catalog.to_regclass(pg_catalog.format('%I._relation_rules', p_schema)) is null then
        execute pg_catalog.format('create table %1$I._relation_rules (
                object_type text primary key,
                rules       jsonb not null,
                updated_at  timestamptz not null default pg_catalog.now()
            )', p_schema);
        execute pg_catalog.format('create table %1$I._tuples (
                object_type      text not null,
                object_id        text not null,
                relation         text not null,
                subject_type     text not null,
                subject_id       text not null,
                subject_relation text not null default '''',
                primary key (object_type, object_id, relation, subject_type, subject_id, subject_relation)
            )', p_schema);
        execute pg_catalog.format('create index on %1$I._tuples (subject_type, subject_id, subject_relation, relation, object_type)', p_schema);
        perform docpal_private.rebac_compile(p_schema);
    end if;
end
$$;
