create or replace function docpal_private.normalize_type_list(p_slug text, p_values jsonb)
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* {slug, values: [{value, label, color}]} from ["a", "b"] or
   [{"value", "label", "color"}]; 22023 for anything else, an empty list, a
   value given twice or a color that is not #rrggbb. */
declare
    v_values jsonb;
begin
    if p_slug is null or p_slug !~ '^[a-z][a-z0-9_]{0,62}$' then
        raise exception using errcode = '22023', message = pg_catalog.format('invalid type list slug %L', p_slug);
    end if;
    if p_values is null or pg_catalog.jsonb_typeof(p_values) <> 'array' or pg_catalog.jsonb_array_length(p_values) = 0 then
        raise exception using errcode = '22023', message = 'type list values must be a non-empty array';
    end if;
    select pg_catalog.jsonb_agg(case pg_catalog.jsonb_typeof(v)
               when 'string' then pg_catalog.jsonb_build_object('value', v, 'label', v, 'color', null)
               else pg_catalog.jsonb_build_object('value', v->'value', 'label', coalesce(v->'label', v->'value'),
                                                  'color', v->'color') end order by o)
      into v_values
      from pg_catalog.jsonb_array_elements(p_values) with ordinality x(v, o);
    if exists (select from pg_catalog.jsonb_array_elements(v_values) v
                where pg_catalog.jsonb_typeof(v->'value') is distinct from 'string' or v->>'value' = ''
                   or pg_catalog.jsonb_typeof(v->'label') <> 'string'
                   or v->'color' <> 'null'::jsonb and coalesce(v->>'color', '') !~ '^#[0-9A-Fa-f]{6}$')
       or exists (select from pg_catalog.jsonb_array_elements(p_values) v
                   where pg_catalog.jsonb_typeof(v) = 'object'
                     and exists (select from pg_catalog.jsonb_object_keys(v) k where k not in ('value', 'label', 'color')))
       or (select pg_catalog.count(distinct v->>'value') <> pg_catalog.count(*) from pg_catalog.jsonb_array_elements(v_values) v) then
        raise exception using errcode = '22023',
            message = 'type list values are distinct non-empty strings, or objects {value, label, color} with color #rrggbb';
    end if;
    return pg_catalog.jsonb_build_object('slug', p_slug, 'values', v_values);
end
$$;
