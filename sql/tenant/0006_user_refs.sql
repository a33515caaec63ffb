-- No foreign key from a tenant table to the shared users table (issue 12):
-- user ids are checked by a row trigger instead, which locks nothing shared
-- (docpal_private.unlink_users, docpal_private.check_user_refs).
select docpal_private.unlink_users('{{ schema }}'::regnamespace);
