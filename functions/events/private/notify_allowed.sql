create or replace function docpal_private.notify_allowed()
    returns boolean
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether docpal sends notifications now: only while the cluster's
   notification queue is below the platform setting notify_threshold
   (a fraction, default 0.5; 0 turns notifications off). See
   docpal_private.notify_target, which captures call directly. */
begin
    return (docpal_private.notify_target(null)).allowed;
end
$$;
