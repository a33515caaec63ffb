create or replace function docpal_private.event_company(p_event bigint, p_scope uuid)
    returns docpal_private.company
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The company an event id belongs to (ids are company number * 2^32 +
   the company's own sequence, below 2^53); 22023 when none does, or when a context
   (p_scope) names another company. */
declare
    v_company docpal_private.company;
begin
    select c.id, c.slug, c.name, c.status, c.status_reason, c.settings, c.schema_name, c.schema_version,
           c.number, c.created_at, c.updated_at
      into v_company
      from docpal_private.companies c where c.number = p_event / 4294967296;
    if v_company.id is null or p_event % 4294967296 = 0 or p_scope is not null and v_company.id <> p_scope then
        raise exception using errcode = '22023',
            message = pg_catalog.format('event %s is not an event of %s', p_event,
                                        case when p_scope is null then 'any company' else 'the company in context' end);
    end if;
    return v_company;
end
$$;
