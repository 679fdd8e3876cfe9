-- Stored events of one touchpoints-topic partition, by minute of event time,
-- newest first: how far back the dedup cache can be primed.
SELECT toInt64(toUnixTimestamp(toStartOfMinute(occurred_at))) * 1000 AS minute_ms, count() AS events
FROM {database:Identifier}.touchpoints
WHERE route_partition = {partition:UInt16}
GROUP BY minute_ms
ORDER BY minute_ms DESC
