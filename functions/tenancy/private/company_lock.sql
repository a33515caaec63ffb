create or replace function docpal_private.company_lock(p_schema text, p_purpose text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
    -- rewritten to the platform lock timeout by apply_lock_timeout
    set lock_timeout = '2s'
as $$
/* Takes the company's lock for one purpose until the end of the
   transaction: its row in docpal_private.company_locks, FOR UPDATE (made on
   first use). Replaces advisory locks, whose keys are public: any login
   could take pg_advisory_lock(4242, hashtext(<schema>)) first and hang that
   company's sealer. Clients cannot touch this table, so only docpal holds
   these rows, and only inside its own calls. The wait is bounded by the
   platform lock timeout (55P03).

   The row references the company with FOR KEY SHARE (at its first insert
   only); platform calls lock the company row FOR NO KEY UPDATE
   (company_for_update), which does not conflict with it, so no platform
   call and no other company ever waits on these. P0002 for a schema that
   is no company's. */
declare
    v_company uuid := docpal_private.company_of_schema(p_schema);
begin
    perform from docpal_private.company_locks l
      where l.company_id = v_company and l.purpose = p_purpose for update;
    if not found then
        -- two first users: one inserts, the other waits for it and then locks the row
        insert into docpal_private.company_locks (company_id, purpose) values (v_company, p_purpose)
        on conflict do nothing;
        perform from docpal_private.company_locks l
          where l.company_id = v_company and l.purpose = p_purpose for update;
    end if;
end
$$;
