-- Events a distributed company writes take ids from its clock and carry no
-- transaction id (sql/tenant/0008_clock.sql): consumers deliver those in id
-- order (docpal_private.event_batch).
alter table {{ schema }}._events alter column xid drop not null;
