-- The subject sets of an object's relation (group:eng#member), which a check
-- follows at every step: a partial index carrying the subject, so that
-- finding them is an index-only scan that does not read the object's plain
-- tuples (there may be thousands of direct viewers).
create index _tuples_subject_sets on {{ schema }}._tuples (object_type, object_id, relation)
    include (subject_type, subject_id, subject_relation)
    where subject_relation <> '';
