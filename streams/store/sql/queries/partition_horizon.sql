-- Stored events of one touchpoints-topic partition, by hour of event time,
-- newest first: chooses how far back the dedup cache can be primed.
SELECT toInt64(toUnixTimestamp(toStartOfHour(occurred_at))) * 1000 AS hour_ms, count() AS events
FROM {database:Identifier}.touchpoints
WHERE route_partition = {partition:UInt16}
GROUP BY hour_ms
ORDER BY hour_ms DESC
