-- depends: 0007_tenant_modules
-- The caller's identity as one value (issue 13): what
-- docpal_private.require_company() returns, in the same column order, so
-- `select * into v_ctx from docpal_private.require_company()` fills a
-- variable of this type. docpal_private.permission and require_permission
-- take it instead of four loose arguments. Idempotent: the install script
-- replays every migration.
do $$
begin
    create type docpal_private.caller as (
        company_id  uuid,
        user_id     uuid,
        schema_name text,
        member_role text,
        scopes      text[]
    );
exception when duplicate_object then
    null;
end
$$;
comment on type docpal_private.caller is
    'Who is calling: company, user, company schema, company role and API key scopes (null = not narrowed).';
