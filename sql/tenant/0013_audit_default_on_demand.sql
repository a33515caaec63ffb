-- The audit log's default partition comes with a company's first table
-- (docpal_private.audit_default_partition, from refresh_table and imports),
-- not with the company: creating a partition makes PostgreSQL 15 read all of
-- pg_constraint, the largest part of create_company at 10,000 companies. A
-- company without tables whose default partition holds no entry loses it
-- here, so that it has the same objects as a company made now.
select docpal_private.audit_default_partition('{{ schema }}', false);
