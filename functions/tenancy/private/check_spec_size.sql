create or replace function docpal_private.check_spec_size(p_spec jsonb, p_what text)
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* p_spec, checked against docpal's size limits before any work is done on
   it (contract section 9; every public function taking a jsonb spec calls
   it first): 54000 for a spec whose JSON text is over 256 KB or that holds
   more than 500 filter conditions. A condition is one leaf of a filter: a
   path with a literal, or one operator of a path's operator object; _and,
   _or and _not only group them. Counted in every filter a client writes
   (the spec's filters, having and when, at any depth of _and/_or/_not);
   a grant's row_filter counts as well when the spec is a grant's. The
   limits bound the cost of a call whatever the caller, so they hold for
   owners too. p_what names the call in the message. */
declare
    v_length integer;
begin
    if p_spec is null then
        return p_spec;
    end if;
    v_length := pg_catalog.octet_length(p_spec::text);
    if v_length > 262144 then
        raise exception using errcode = '54000',
            message = pg_catalog.format('%s: the spec is %s bytes, over the limit of 256 KB (262144 bytes)', p_what, v_length);
    end if;
    if docpal_private.filter_conditions(p_spec) > 500 then  -- it stops counting past 500
        raise exception using errcode = '54000',
            message = pg_catalog.format('%s: the filters hold more than 500 conditions, the limit', p_what);
    end if;
    return p_spec;
end
$$;
