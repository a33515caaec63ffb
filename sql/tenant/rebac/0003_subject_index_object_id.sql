-- The subject index carries object_id (issue 19): lookup_objects walks
-- backwards from the subject, one probe of this index per node, and needs
-- each tuple's object; with it in the index the walk reads no table row on
-- pages the vacuum has marked all-visible, and tuples of other object types
-- are passed over in the index rather than after fetching their rows.
create index _tuples_subject on {{ schema }}._tuples (subject_type, subject_id, subject_relation, relation, object_type)
    include (object_id);
drop index {{ schema }}._tuples_subject_type_subject_id_subject_relation_relation_o_idx;
