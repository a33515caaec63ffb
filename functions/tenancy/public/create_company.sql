-- grant: docpal_service
create or replace function docpal.create_company(slug text, name text, settings jsonb default '{}')
    returns uuid
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Creates a company and its schema company_<hex of id>, built from the
   current tenant template; returns the id. 22023 for a bad slug, name or
   settings, 23505 when the slug is taken. */
declare
    v_id uuid := pg_catalog.gen_random_uuid();
    v_schema text := 'company_' || pg_catalog.replace(v_id::text, '-', '');
    v_distribute boolean;
    v_propagation text;
begin
    perform docpal_private.check_spec_size(create_company.settings, 'create_company');
    if create_company.slug is null or create_company.slug !~ '^[a-z][a-z0-9-]{1,62}$' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('invalid company slug %L', create_company.slug),
            hint = 'A slug is 2 to 63 characters: a lower-case letter, then letters, digits or hyphens.';
    end if;
    if create_company.name is null or pg_catalog.btrim(create_company.name) = '' then
        raise exception using errcode = '22023', message = 'a company needs a name';
    end if;
    if create_company.settings is null or pg_catalog.jsonb_typeof(create_company.settings) <> 'object' then
        raise exception using errcode = '22023', message = 'company settings must be a JSON object';
    end if;
    begin
        insert into docpal_private.companies (id, slug, name, settings, schema_name)
        values (v_id, create_company.slug, create_company.name, create_company.settings, v_schema);
    exception when unique_violation then
        raise exception using errcode = '23505',
            message = pg_catalog.format('company slug %L is already taken', create_company.slug);
    end;
    -- Scale-out opt-in (contract section 10): a platform setting
    -- (set_platform_setting), never a session setting a client could write.
    -- The schema is built locally (Citus propagates no DDL meanwhile) and
    -- handed to Citus whole at the end: distributing a schema that was
    -- created on the workers in the same transaction fails, because Citus
    -- records it through a connection of its own that does not see it.
    v_distribute := docpal_private.platform_setting('distributed') = 'on'
                    and docpal_private.citus_installed();
    if v_distribute then
        v_propagation := pg_catalog.current_setting('citus.enable_ddl_propagation');
        perform pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
    end if;
    execute pg_catalog.format('create schema %I', v_schema);
    execute pg_catalog.format('revoke all on schema %I from public', v_schema);
    perform docpal_private.apply_tenant_steps(v_id);
    if v_distribute then
        perform pg_catalog.set_config('citus.enable_ddl_propagation', v_propagation, true);
        perform docpal_private.citus_ddl();
        -- citus_schema_distribute exists only where Citus is installed
        perform 'PRAGMA:disable:check';
        execute 'select pg_catalog.citus_schema_distribute($1::regnamespace)' using v_schema;
        perform 'PRAGMA:enable:check';
    end if;
    return v_id;
end
$$;
