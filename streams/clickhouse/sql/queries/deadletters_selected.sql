-- The dead letters `cx deadletters` selects (`streams.deadletters.select`):
-- the condition only, included by deadletters_count.sql and
-- deadletters_list.sql. An empty filter matches any.
(empty({reasons:Array(String)}) OR reason IN {reasons:Array(String)})
  AND (empty({channels:Array(String)}) OR channel IN {channels:Array(String)})
  AND toUnixTimestamp64Milli(received_at) >= {since_ms:Int64}
  AND toUnixTimestamp64Milli(received_at) < {until_ms:Int64}
  AND ({event_id:String} = '' OR event_id = {event_id:String})
  AND (empty({positions:Array(Tuple(UInt32, UInt64))})
       OR (deadletter_partition, deadletter_offset) IN {positions:Array(Tuple(UInt32, UInt64))})
  AND (empty({sources:Array(Tuple(String, UInt32, UInt64))})
       OR (source_topic, source_partition, source_offset) IN {sources:Array(Tuple(String, UInt32, UInt64))})
