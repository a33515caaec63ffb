create or replace function docpal_private.member_description(
    p_caller docpal_private.caller, p_slug text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The description of table p_slug (docpal_private.describe_table) as the
   caller may see it: owners and admins see it whole; a member sees it only
   when it holds read permission on the table (else null), with only the
   columns some read grant gives (readable on some row) and only the
   workflows whose state column is among them. 42P01 when unknown. */
declare
    v_description jsonb := docpal_private.describe_table(p_caller.schema_name, p_slug);
    v_perm jsonb;
begin
    if p_caller.member_role in ('owner', 'admin') then
        return v_description;
    end if;
    v_perm := docpal_private.permission(p_caller, p_slug, 'read');
    if v_perm is null then
        return null;
    end if;
    if coalesce(v_perm->'columns', 'null') = 'null' then
        return v_description;
    end if;
    v_description := v_description || pg_catalog.jsonb_build_object('columns', coalesce((
        select pg_catalog.jsonb_agg(c order by o)
          from pg_catalog.jsonb_array_elements(v_description->'columns') with ordinality x(c, o)
         where v_perm->'columns' ? (c->>'name')), '[]'));
    if v_description ? 'workflows' then
        v_description := v_description || pg_catalog.jsonb_build_object('workflows', coalesce((
            select pg_catalog.jsonb_agg(w order by o)
              from pg_catalog.jsonb_array_elements(v_description->'workflows') with ordinality x(w, o)
             where v_perm->'columns' ? (w->>'state_column')), '[]'::jsonb));
    end if;
    return v_description;
end
$$;
