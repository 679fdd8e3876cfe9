-- Event ids of one touchpoints-topic partition since a moment (cache priming).
SELECT event_id, toUnixTimestamp64Milli(occurred_at)
FROM {database:Identifier}.touchpoints
WHERE route_partition = {partition:UInt16}
  AND occurred_at >= fromUnixTimestamp64Milli({since_ms:Int64})
