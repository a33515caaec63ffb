create or replace function docpal_private.import_user_refs(p_company uuid, p_schema text, p_table text, p_column text,
                                                           p_name text, p_emails jsonb)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Puts the members named by email in p_emails into a role (p_table
   _role_members, p_column role) or a group (_group_members, group_name)
   of an import: 22023 when p_emails is not an array of strings or names
   someone who is not a member of the company. */
declare
    v_missing text;
begin
    if pg_catalog.jsonb_typeof(coalesce(p_emails, '[]')) <> 'array'
       or exists (select from pg_catalog.jsonb_array_elements(coalesce(p_emails, '[]')) e where pg_catalog.jsonb_typeof(e) <> 'string') then
        raise exception using errcode = '22023', message = pg_catalog.format('the members of %s are an array of emails', p_name);
    end if;
    select e into v_missing
      from pg_catalog.jsonb_array_elements_text(coalesce(p_emails, '[]')) e
     where not exists (select from docpal_private.memberships m join docpal_private.users u on u.id = m.user_id
                        where m.company_id = p_company and pg_catalog.lower(u.email) = pg_catalog.lower(e))
     limit 1;
    if v_missing is not null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s names %s, who is not among the export''s members', p_name, v_missing);
    end if;
    execute pg_catalog.format(
        'insert into %I.%I (user_id, %I)
         select m.user_id, $3
           from docpal_private.memberships m join docpal_private.users u on u.id = m.user_id
          where m.company_id = $1 and pg_catalog.lower(u.email) in (select pg_catalog.lower(e) from pg_catalog.jsonb_array_elements_text($2) e)
         on conflict do nothing', p_schema, p_table, p_column)
      using p_company, coalesce(p_emails, '[]'), p_name;
end
$$;
