-- grant: docpal_service
create or replace function docpal.set_context(company uuid, user_id uuid, is_local boolean default true)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Acts as user_id in company until the transaction ends (the default:
   safe behind a transaction-pooling PgBouncer, which hands this server
   connection to other clients next), or with is_local => false for the rest
   of the session (only on a connection no other client will ever use). The
   context is signed for this session only. 42501 when the user is not a
   member or the company is not active. */
declare
    v_payload text := set_context.company::text || '|' || set_context.user_id::text || '|||'
                      || docpal_private.session_tag();
begin
    -- one statement: the membership check, the signature (context_sign and
    -- session_tag are SQL, inlined here: docpal_private.context_token's value,
    -- written out so that a fresh connection compiles one PL/pgSQL function
    -- less) and the setting, made only when the check passes
    if (select pg_catalog.set_config('docpal.context', docpal_private.context_sign(v_payload, s.value),
                                     coalesce(set_context.is_local, true))
          from docpal_private.secrets s
         where s.name = 'context_hmac_pads'
           and exists (select from docpal_private.memberships m
                         join docpal_private.companies c on c.id = m.company_id
                        where m.company_id = set_context.company and m.user_id = set_context.user_id
                          and c.status = 'active')) is null then
        raise exception using errcode = '42501',
            message = pg_catalog.format('user %s is not a member of an active company %s',
                                        coalesce(set_context.user_id::text, 'null'), coalesce(set_context.company::text, 'null'));
    end if;
end
$$;
