-- A person's touchpoints on every channel, in event time: those written
-- under any identifier that belongs to them now.
SELECT
    toUnixTimestamp64Milli(occurred_at) AS occurred_at_ms,
    channel,
    event_type,
    stage,
    store_id,
    event_id
FROM {database:Identifier}.touchpoints
WHERE customer_key IN {identifiers:Array(String)}
ORDER BY occurred_at, event_id
LIMIT {limit:UInt32}
