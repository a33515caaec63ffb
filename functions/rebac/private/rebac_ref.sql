create or replace function docpal_private.rebac_ref(p_ref text, p_allow_set boolean,
                                                    out o_type text, out o_id text, out o_relation text)
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* Splits "type:id" (and, with p_allow_set, "type:id#relation") into its
   parts; 22023 when malformed. o_relation is '' for a plain reference. */
declare
    -- unbounded classes and separate length checks: a bounded repeat such as
    -- {0,62} makes the regular expression engine ~20 times slower here
    v_match text[] := pg_catalog.regexp_match(p_ref, '^([a-z][a-z0-9_]*):([^#[:space:]]+)(?:#([a-z][a-z0-9_]*))?$');
begin
    if v_match is null or (v_match[3] is not null and not p_allow_set)
       or pg_catalog.length(v_match[1]) > 63 or pg_catalog.length(v_match[2]) > 200 or pg_catalog.length(v_match[3]) > 63 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%L is not a %s', p_ref, case when p_allow_set then 'subject (type:id or type:id#relation)'
                                                                     else 'object (type:id)' end);
    end if;
    o_type := v_match[1];
    o_id := v_match[2];
    o_relation := coalesce(v_match[3], '');
end
$$;
