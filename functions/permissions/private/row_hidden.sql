create or replace function docpal_private.row_hidden(p_schema text, p_spec jsonb, p_perm jsonb, p_id uuid)
    returns boolean
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether permission p_perm (docpal_private.permission) has a row filter
   that record p_id does not meet: such a record is invisible to the caller
   (P0002 or null, as if it did not exist). Without a row filter nothing is
   hidden, and nothing is queried. */
begin
    return p_perm->'row_filter' is not null and p_perm->'row_filter' <> 'null'
           and not docpal_private.row_allowed(p_schema, p_spec, p_perm->'row_filter', p_id);
end
$$;
