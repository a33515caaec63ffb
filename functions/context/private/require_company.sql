create or replace function docpal_private.require_company(
    out company_id uuid, out user_id uuid, out schema_name text, out member_role text, out scopes text[])
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The company in context, for every tenant function: its id, the user, the
   company schema and the user's company role. 42501 without a context, for a
   suspended company, or when the user is no longer a member; and, as
   docpal_private.context() raises them, for a value not signed in this
   session and for an API key revoked or expired since. */
declare
    v_token text := pg_catalog.current_setting('docpal.context', true);
    v_parts text[];
    v_status text;
begin
    if v_token is null or v_token = '' then
        raise exception using errcode = '42501', message = 'no company in context',
            hint = 'Call docpal.set_context (service) or docpal.authenticate (client) first.';
    end if;
    -- docpal_private.context()'s checks, written out: every tenant function
    -- calls this one, and a fresh connection then compiles one PL/pgSQL
    -- function less (context_valid is SQL, inlined in this statement)
    if (select docpal_private.context_valid(v_token, s.value)
          from docpal_private.secrets s where s.name = 'context_hmac_pads') is not true then
        raise exception using
            errcode = '42501',
            message = 'the docpal context is not valid in this session',
            hint = 'A context is set only by docpal.set_context or docpal.authenticate.';
    end if;
    v_parts := pg_catalog.string_to_array(v_token, '|');
    if v_parts[4] <> '' and not docpal_private.context_key_is_live(nullif(v_parts[4], '')::uuid) then  -- set_context's: no key
        raise exception using
            errcode = '42501',
            message = 'the API key of this docpal context has been revoked or has expired',
            hint = 'Authenticate again with a valid key.';
    end if;
    company_id := v_parts[1]::uuid;
    user_id := v_parts[2]::uuid;
    scopes := pg_catalog.string_to_array(nullif(v_parts[3], ''), ',');
    -- the company and the membership in one statement (one plan to make on
    -- a fresh connection, one executor run per call)
    select c.schema_name, c.status, m.role into schema_name, v_status, member_role
      from docpal_private.companies c
      left join docpal_private.memberships m on m.company_id = c.id and m.user_id = require_company.user_id
     where c.id = require_company.company_id;
    if v_status is distinct from 'active' then
        raise exception using errcode = '42501',
            message = pg_catalog.format('company %s is %s', company_id, coalesce(v_status, 'gone'));
    end if;
    if member_role is null then
        raise exception using errcode = '42501',
            message = pg_catalog.format('user %s is not a member of company %s', user_id, company_id);
    end if;
end
$$;
