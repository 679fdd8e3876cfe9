-- Event ids of one touchpoints-topic partition since a moment (cache priming).
-- The partition is computed from the event id as ingest routes it (CRC-32,
-- `streams.runtime.partitioning.partition_of`; tests/integration/test_store.py
-- checks they agree), not read from route_partition: rows stored before
-- events were routed by their id carry another partition there.
SELECT event_id, toUnixTimestamp64Milli(occurred_at)
FROM {database:Identifier}.touchpoints
WHERE CRC32(event_id) % {partitions:UInt32} = {partition:UInt32}
  AND occurred_at >= fromUnixTimestamp64Milli({since_ms:Int64})
