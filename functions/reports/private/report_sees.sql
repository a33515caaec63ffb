create or replace function docpal_private.report_sees(p_ctx jsonb, p_caller_view text, p_view text)
    returns boolean
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* Whether the user of p_ctx (docpal_private.require_company() as jsonb),
       whose own view of the report is p_caller_view
       (docpal_private.report_view), may be shown a stored result made with
       view p_view: when it is the same view (the same reads), or when the
       user is an owner or admin who may read (no key scopes, or scopes with
       read), who reads every row anyway. A report never shows anyone more
       than they may read. */
    select coalesce(p_view = p_caller_view, false)
        or p_caller_view = 'all'
        or (p_ctx->>'member_role' in ('owner', 'admin')
            and (pg_catalog.jsonb_typeof(p_ctx->'scopes') is distinct from 'array' or p_ctx->'scopes' ? 'read'))
$$;
