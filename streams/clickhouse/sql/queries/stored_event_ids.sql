-- Which of these event ids are stored already (events older than what memory holds).
SELECT event_id
FROM {database:Identifier}.touchpoints
WHERE occurred_at BETWEEN fromUnixTimestamp64Milli({min_ms:Int64}) AND fromUnixTimestamp64Milli({max_ms:Int64})
  AND event_id IN {event_ids:Array(String)}
