-- When each touchpoint became queryable (epoch ms): `cx bench` latency.
SELECT event_id, toUnixTimestamp64Milli(stored_at)
FROM {database:Identifier}.touchpoints
