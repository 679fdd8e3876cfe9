-- The identifiers of the person being erased, for the erase_* statements to
-- read: in memory only, and named in those statements instead of their
-- values, so that no mutation record (system.mutations, mutation_N.txt
-- beside the parts) or query log keeps them. Dropped after the erasure.
CREATE TABLE {database:Identifier}.{terms:Identifier}
(
    kind   LowCardinality(String) COMMENT 'customer_id, loyalty_id, phone_hash, email_hash or anonymous_id',
    value  String COMMENT 'as the touchpoints columns hold it',
    term   String COMMENT 'kind:value, as keys and the identity tables hold it'
)
ENGINE = Memory
