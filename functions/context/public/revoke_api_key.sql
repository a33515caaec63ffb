-- grant: docpal_service, docpal_app
create or replace function docpal.revoke_api_key(id uuid)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Revokes an API key of the company in context: every context made from it
   fails with 42501 from the next call on (see context_key_is_live). Owners
   and admins revoke any key of the company, a member its own keys (42501 for
   another's; revoking one's own key is always allowed, even from a key with
   narrowed scopes); P0002 for an unknown or already revoked key. */
declare
    v_ctx record;
begin
    select * into v_ctx from docpal_private.require_company();
    if exists (select from docpal_private.api_keys k
                where k.id = revoke_api_key.id and k.company_id = v_ctx.company_id and k.user_id <> v_ctx.user_id) then
        -- another member's key: owners and admins only, not with a narrowed key
        perform docpal_private.require_admin();
    end if;
    update docpal_private.api_keys k set revoked_at = pg_catalog.now()
     where k.id = revoke_api_key.id and k.company_id = v_ctx.company_id and k.revoked_at is null;
    if not found then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('API key %s does not exist or is already revoked', revoke_api_key.id);
    end if;
end
$$;
