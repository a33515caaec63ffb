-- grant: docpal_service, docpal_app
create or replace function docpal.event_channel()
    returns text
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The NOTIFY channel of the company in context (LISTEN to it, quoted as an
   identifier): every committed change of the company is announced there
   (contract section 7). Only the service role, or an owner or admin of the
   company, may have it: anyone can LISTEN to a channel they can name, so
   the name is a random value kept in a private table, never derived from
   the company id (42501 for members and without a context). */
declare
    v_ctx record;
    v_channel text;
begin
    if docpal_private.caller_is_platform_admin() then
        select * into v_ctx from docpal_private.require_company();
    else
        select * into v_ctx from docpal_private.require_admin();
    end if;
    select c.channel into v_channel from docpal_private.event_channels c where c.company_id = v_ctx.company_id;
    if v_channel is null then
        -- a company made before it had tables gets its channel on first ask
        insert into docpal_private.event_channels (company_id) values (v_ctx.company_id)
            on conflict (company_id) do nothing;
        select c.channel into strict v_channel from docpal_private.event_channels c where c.company_id = v_ctx.company_id;
    end if;
    return v_channel;
end
$$;
