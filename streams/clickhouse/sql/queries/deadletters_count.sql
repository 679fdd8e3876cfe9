-- Dead letters by time bucket ({bucket_ms}: an hour, a day, or one bucket
-- for all), reason and channel, newest bucket first (`cx deadletters count`).
-- The filters are those of deadletters_list.sql; an empty one matches any.
SELECT
    intDiv(toUnixTimestamp64Milli(received_at), {bucket_ms:Int64}) * {bucket_ms:Int64} AS bucket_ms,
    reason,
    channel,
    count() AS dead_letters
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
GROUP BY bucket_ms, reason, channel
ORDER BY bucket_ms DESC, dead_letters DESC, reason, channel
