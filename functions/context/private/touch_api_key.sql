create or replace function docpal_private.touch_api_key(p_key uuid)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Sets the key's last_used_at when it is more than a minute old, so that
   authenticating is a write at most once a minute per key. The row is in
   api_key_use, not api_keys (its lock lasts to the end of the client's
   transaction and must not stand in revoke_api_key's way), and is skipped
   when another request holds it: concurrent requests of one key never wait
   for each other here. */
begin
    update docpal_private.api_key_use u set last_used_at = pg_catalog.now()
     where u.key_id = (select s.key_id from docpal_private.api_key_use s
                        where s.key_id = p_key
                          and (s.last_used_at is null or s.last_used_at < pg_catalog.now() - interval '1 minute')
                          for update skip locked);
end
$$;
