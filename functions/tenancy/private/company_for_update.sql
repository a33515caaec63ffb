create or replace function docpal_private.company_for_update(p_company uuid)
    returns docpal_private.company
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The company row, locked for the rest of the transaction; P0002 when
   unknown. FOR NO KEY UPDATE, not FOR UPDATE: platform changes of a company
   (update, suspend, activate, tenant upgrades) serialise with each other,
   but never wait on the FOR KEY SHARE locks that a tenant's own writes take
   on the row (rows that reference the company: outbox positions, company
   locks) and keep for as long as the tenant keeps its transaction open.
   Returns docpal_private.company, never the companies row type (contract
   section 10, rule 10). */
declare
    v_company docpal_private.company;
begin
    select c.id, c.slug, c.name, c.status, c.status_reason, c.settings, c.schema_name, c.schema_version,
           c.number, c.created_at, c.updated_at
      into v_company
      from docpal_private.companies c where c.id = p_company for no key update;
    if not found then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('company %s does not exist', coalesce(p_company::text, 'null'));
    end if;
    return v_company;
end
$$;
