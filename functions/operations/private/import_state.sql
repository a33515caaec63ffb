create or replace function docpal_private.import_state(p_company uuid,
    out company_id uuid, out schema_name text, out history boolean, out users jsonb, out constraints jsonb,
    out history_in boolean, out settings jsonb)
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The state of the import of company p_company begun in this transaction
   (docpal_private.import_begin keeps it in a temporary table); 22023 when
   no such import is under way. */
begin
    -- a temporary table (import_begin) that plpgsql_check cannot see
    perform 'PRAGMA:table: docpal_import (company_id uuid, schema_name text, history boolean, users jsonb, constraints jsonb, history_in boolean, settings jsonb)';
    if pg_catalog.to_regclass('pg_temp.docpal_import') is not null then
        select i.company_id, i.schema_name, i.history, i.users, i.constraints, i.history_in, i.settings
          into company_id, schema_name, history, users, constraints, history_in, settings
          from pg_temp.docpal_import i where i.company_id = p_company;
    end if;
    if company_id is null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('no import of company %s is under way in this transaction', p_company);
    end if;
end
$$;
