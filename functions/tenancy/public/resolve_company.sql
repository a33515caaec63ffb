-- grant: docpal_service, docpal_app
create or replace function docpal.resolve_company(host text)
    returns uuid
    language sql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
    /* The active company whose slug is the first label of a host name:
       'acme', 'acme.example.com', 'acme.localhost:3000' and
       'https://acme.example.com/path' all give slug acme. Null when unknown
       or suspended. */
    select c.id
      from docpal_private.companies c
     where c.status = 'active'
       and c.slug = pg_catalog.split_part(
               pg_catalog.regexp_replace(pg_catalog.lower(pg_catalog.btrim(resolve_company.host)),
                                         '^[a-z][a-z0-9+.-]*://|[:/?#].*$', '', 'g'),
               '.', 1)
$$;
