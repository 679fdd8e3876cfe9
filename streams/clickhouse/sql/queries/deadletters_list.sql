-- Dead letters, newest first, at most {limit} (`cx deadletters list`, `show`,
-- and the selection of `replay`). Every column but the original bytes, which
-- stay on the dead-letter topic at (deadletter_partition, deadletter_offset).
-- The filters are those of deadletters_count.sql; an empty one matches any.
SELECT
    deadletter_partition,
    deadletter_offset,
    toUnixTimestamp64Milli(received_at) AS received_at_ms,
    channel,
    reason,
    reasons,
    errors,
    event_id,
    event_type,
    rejected_by,
    source_topic,
    source_partition,
    source_offset,
    toUnixTimestamp64Milli(source_timestamp) AS source_timestamp_ms,
    payload_bytes,
    payload_sha256
FROM {database:Identifier}.deadletters
WHERE (empty({reasons:Array(String)}) OR reason IN {reasons:Array(String)})
  AND (empty({channels:Array(String)}) OR channel IN {channels:Array(String)})
  AND toUnixTimestamp64Milli(received_at) >= {since_ms:Int64}
  AND toUnixTimestamp64Milli(received_at) < {until_ms:Int64}
  AND ({event_id:String} = '' OR event_id = {event_id:String})
  AND (empty({positions:Array(Tuple(UInt32, UInt64))})
       OR (deadletter_partition, deadletter_offset) IN {positions:Array(Tuple(UInt32, UInt64))})
  AND (empty({sources:Array(Tuple(String, UInt32, UInt64))})
       OR (source_topic, source_partition, source_offset) IN {sources:Array(Tuple(String, UInt32, UInt64))})
ORDER BY received_at DESC, deadletter_partition DESC, deadletter_offset DESC
LIMIT {limit:UInt32}
