create or replace function docpal_private.record_state(
    p_schema text, p_spec jsonb, p_id uuid, p_version integer, p_at timestamptz)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A record as its audit entries say it was, shaped like get_record (the
   stored row as to_jsonb, each relation_many column as its id list):
   - with p_version: at that version (null when it never had that version);
   - with p_at: at that time (null when it did not exist then).
   Worked backwards from the record as it is now, undoing the entries after
   that point, newest first: an UPDATE, ROLLBACK or link entry puts its old
   values back (updated_at becomes the time of the last entry kept), a
   DELETE brings back the row it removed (with the links
   whose removal was logged with it), an INSERT or
   RESTORE of the row means it did not exist before. Only entries after the
   point are read, so retention never breaks it. */
declare
    v_cutoff bigint;
    v_state jsonb;
    v_record text := docpal_private.record_sql(p_schema, p_spec, '_t');
    v_action text;
    v_old jsonb;
    v_new jsonb;
    v_had boolean;
    v_cutoff_at timestamptz;
    v_undone boolean := false;
begin
    if p_version is not null then
        -- the state at version v is the one after its last entry (a DELETE
        -- carries the version it ended, so it does not count)
        execute pg_catalog.format(
            'select pg_catalog.max(e.id) filter (where e.version <= $3 and e.action <> ''DELETE''),
                    (pg_catalog.array_agg(e.at order by e.id desc) filter (where e.version <= $3 and e.action <> ''DELETE''))[1],
                    pg_catalog.bool_or(e.version = $3)
               from %I._audit_log e where e."table" = $1 and e.record_id = $2', p_schema)
           into v_cutoff, v_cutoff_at, v_had using p_spec->>'slug', p_id, p_version;
        if v_cutoff is null or not v_had then
            return null;
        end if;
    else
        execute pg_catalog.format(
            'select coalesce(pg_catalog.max(e.id) filter (where e.at <= $3), 0),
                    (pg_catalog.array_agg(e.at order by e.id desc) filter (where e.at <= $3))[1]
               from %I._audit_log e where e."table" = $1 and e.record_id = $2', p_schema)
           into v_cutoff, v_cutoff_at using p_spec->>'slug', p_id, p_at;
    end if;
    execute pg_catalog.format('select %s from %I.%I _t where _t.id = $1', v_record, p_schema, p_spec->>'slug')
       into v_state using p_id;
    for v_action, v_old, v_new in execute pg_catalog.format(
        'select e.action, e.old, e.new from %I._audit_log e
          where e."table" = $1 and e.record_id = $2 and e.id > $3 order by e.id desc', p_schema)
        using p_spec->>'slug', p_id, v_cutoff
    loop
        v_undone := true;
        if v_action in ('INSERT', 'RESTORE') and v_new ? 'id' then
            v_state := null;
        elsif v_action = 'DELETE' then
            -- the links that went with it (their entry may come after the
            -- DELETE's: the junction's cascade runs at the end of the statement)
            v_state := v_old || coalesce(v_state, '{}');
        else
            v_state := coalesce(v_state, '{}') || v_old;
        end if;
    end loop;
    if v_state is null or not v_state ? 'id' then
        return null;
    end if;
    -- entries do not carry updated_at: it is the time of the last change kept
    if v_undone and v_state ? 'updated_at' then
        v_state := v_state || pg_catalog.jsonb_build_object('updated_at', v_cutoff_at);
    end if;
    -- a list no entry mentions was empty
    return v_state || coalesce((select pg_catalog.jsonb_object_agg(c->>'name', '[]'::jsonb)
                                  from pg_catalog.jsonb_array_elements(p_spec->'columns') c
                                 where c->>'type' = 'relation_many' and not v_state ? (c->>'name')), '{}');
end
$$;
