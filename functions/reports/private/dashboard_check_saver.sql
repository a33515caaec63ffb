create or replace function docpal_private.dashboard_check_saver(p_ctx docpal_private.caller, p_saved_by uuid, p_slug text)
    returns void
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* Who may replace or drop an existing dashboard (the rule of reports,
   docpal.save_report): the user who saved it, and the company's owners and
   admins unless they act through a narrowed API key. 42501 for anyone
   else. */
begin
    if p_ctx.user_id is distinct from p_saved_by
       and not (p_ctx.member_role in ('owner', 'admin')
                and (p_ctx.scopes is null or p_ctx.scopes @> array['read', 'create', 'update', 'delete'])) then
        raise exception using errcode = '42501',
            message = pg_catalog.format('dashboard %s was saved by another user: only its saver, owners and admins may change it',
                                        pg_catalog.to_json(p_slug));
    end if;
end
$$;
