create or replace function docpal_private.record_state(
    p_schema text, p_spec jsonb, p_id uuid, p_version integer, p_at timestamptz)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A record as its audit entries say it was, shaped like get_record (the
   stored row as to_jsonb, each relation_many column as its id list):
   - with p_version: at that version (null when the record never had it);
   - with p_at: at that time (null when it did not exist then);
   - with neither: as last known, a deleted record as it was deleted.
   The row is the newest entry carrying a whole row (INSERT, UPDATE,
   ROLLBACK, RESTORE; a DELETE ends it) up to that point; each list is the
   newest link entry of its column up to that point ([] without one). */
declare
    v_cond text := case when p_version is not null then 'e.version <= $3' when p_at is not null then 'e.at <= $4' else 'true' end;
    v_many text[] := array(select c->>'name' from pg_catalog.jsonb_array_elements(p_spec->'columns') c
                            where c->>'type' = 'relation_many');
    v_state jsonb;
    v_exists boolean;
begin
    if p_version is not null then
        execute pg_catalog.format(
            'select exists (select from %I._audit_log e where e."table" = $1 and e.record_id = $2 and e.version = $3)', p_schema)
           into v_exists using p_spec->>'slug', p_id, p_version;
        if not v_exists then
            return null;
        end if;
    end if;
    execute pg_catalog.format(
        'select coalesce(d.new, d.old) || coalesce((select pg_catalog.jsonb_object_agg(c, coalesce(
                    (select e.new -> c from %1$I._audit_log e
                      where e."table" = $1 and e.record_id = $2 and e.changed = array[c] and not (e.new ? ''id'') and %2$s
                      order by e.id desc limit 1), ''[]''))
                  from pg_catalog.unnest($5::text[]) c), ''{}'')
           from (select e.new, e.old, e.action from %1$I._audit_log e
                  where e."table" = $1 and e.record_id = $2 and (e.new ? ''id'' or e.action = ''DELETE'') and %2$s
                    and (e.action <> ''DELETE'' or $3 is null)
                  order by e.id desc limit 1) d
          where d.action <> ''DELETE'' or ($3 is null and $4 is null)',
        p_schema, v_cond)
       into v_state using p_spec->>'slug', p_id, p_version, p_at, v_many;
    return v_state;
end
$$;
