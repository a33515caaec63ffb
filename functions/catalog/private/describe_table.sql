create or replace function docpal_private.describe_table(p_schema text, p_slug text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The public description of a table: its spec, each column with data_type
   (the PostgreSQL type, from the catalog), created_at and updated_at, and
   "workflows" (their specs) when workflows govern some of its columns.
   42P01 when unknown. */
declare
    v_spec jsonb;
    v_created timestamptz;
    v_updated timestamptz;
    v_types jsonb;
    v_workflows jsonb;
begin
    execute pg_catalog.format('select c.spec, c.created_at, c.updated_at from %I._catalog c where c.kind = $1 and c.slug = $2',
                              p_schema)
       into v_spec, v_created, v_updated using 'table', p_slug;
    if v_spec is null then
        raise exception using errcode = '42P01', message = pg_catalog.format('table %L does not exist', p_slug);
    end if;
    select pg_catalog.jsonb_object_agg(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod))
      into v_types
      from pg_catalog.pg_attribute a
     where a.attrelid = pg_catalog.format('%I.%I', p_schema, p_slug)::regclass and a.attnum > 0 and not a.attisdropped;
    if v_spec ? 'workflows' then
        -- the workflows governing its columns, as define_workflow stored them
        execute pg_catalog.format(
            'select pg_catalog.jsonb_agg(c.spec order by c.slug) from %I._catalog c where c.kind = $1 and c.slug = any ($2)',
            p_schema)
           into v_workflows
          using 'workflow', array(select w.value->>'workflow' from pg_catalog.jsonb_each(v_spec->'workflows') w);
    end if;
    v_spec := docpal_private.public_spec(v_spec);
    if v_workflows is not null then
        v_spec := v_spec || pg_catalog.jsonb_build_object('workflows', v_workflows);
    end if;
    return v_spec || pg_catalog.jsonb_build_object(
        'description', v_spec->'description',
        'columns', coalesce((
            select pg_catalog.jsonb_agg(c || pg_catalog.jsonb_build_object('data_type',
                       case when c->>'type' = 'relation_many' then 'uuid[]' else v_types->>(c->>'name') end) order by o)
              from pg_catalog.jsonb_array_elements(v_spec->'columns') with ordinality x(c, o)), '[]'),
        'created_at', v_created,
        'updated_at', v_updated);
end
$$;
