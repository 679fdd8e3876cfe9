-- Rows of the table expire `days` days after their `column`. toDateTime:
-- servers before 25.7 take no DateTime64 in a TTL. The number of days is
-- written in literally (a parameter would be kept as a cast in the table's
-- metadata). Existing parts are brought under it by a mutation in the
-- background (materialize_ttl_after_modify).
ALTER TABLE {database:Identifier}.{table:Identifier}
    MODIFY TTL toDateTime({column:Identifier}) + toIntervalDay({days:UInt32})
