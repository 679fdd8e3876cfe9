-- Stored events of one touchpoints-topic partition (by event id, as in
-- partition_event_ids), by minute of event time, newest first: how far
-- back the dedup cache can be primed.
SELECT toInt64(toUnixTimestamp(toStartOfMinute(occurred_at))) * 1000 AS minute_ms, count() AS events
FROM {database:Identifier}.touchpoints
WHERE CRC32(event_id) % {partitions:UInt32} = {partition:UInt32}
GROUP BY minute_ms
ORDER BY minute_ms DESC
