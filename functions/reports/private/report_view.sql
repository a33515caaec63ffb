create or replace function docpal_private.report_view(p_ctx jsonb, p_report jsonb)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* What the user of p_ctx (docpal_private.require_company() as jsonb) may
   read, as a fingerprint stored with each snapshot of report p_report
   (its _reports row as jsonb): 'all' for an owner or admin whose context
   is not narrowed by an API key's scopes; else the md5 of the scopes and
   of the read permission (docpal_private.permission: columns, row filter,
   grants, "$user" already the user's id) on every table of the company.
   Two users with the same fingerprint read exactly the same, so one may be
   shown what the other's run stored (docpal_private.report_sees). When the
   report names "$user" anywhere (its spec or a param's default), its
   result depends on who runs it: the user's id is then part of the
   fingerprint. The tables' permissions are read one call at a time, never
   inside a query on a company table (Citus, docs/internals.md). */
declare
    v_caller docpal_private.caller := docpal_private.q_caller(p_ctx);
    v_slugs text[];
    v_slug text;
    v_read jsonb := '{}';
    v_view text;
begin
    if v_caller.member_role in ('owner', 'admin') and v_caller.scopes is null then
        v_view := 'all';
    else
        execute pg_catalog.format('select pg_catalog.array_agg(c.slug order by c.slug) from %I._catalog c where c.kind = $1',
                                  v_caller.schema_name)
           into v_slugs using 'table';
        foreach v_slug in array coalesce(v_slugs, '{}') loop
            v_read := v_read || pg_catalog.jsonb_build_object(v_slug, docpal_private.permission(v_caller, v_slug, 'read'));
        end loop;
        v_view := pg_catalog.md5(pg_catalog.jsonb_build_object('scopes', pg_catalog.to_jsonb(v_caller.scopes), 'read', v_read)::text);
    end if;
    if docpal_private.report_names_user(p_report) then
        v_view := v_view || ':' || v_caller.user_id::text;
    end if;
    return v_view;
end
$$;
