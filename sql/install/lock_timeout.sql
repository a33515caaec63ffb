-- The platform lock timeout into the SET clause of every docpal function
-- (docpal_private.apply_lock_timeout): CREATE OR REPLACE FUNCTION above reset
-- them, so this runs after every function of this transaction is written.
select docpal_private.apply_lock_timeout();
