-- Dead letters, newest first, at most {limit} (`cx deadletters list`, `show`,
-- and the selection of `replay`). Every column but the original bytes, which
-- stay on the dead-letter topic at (deadletter_partition, deadletter_offset).
-- The selection: deadletters_selected.sql.
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
WHERE {{include deadletters_selected}}
ORDER BY received_at DESC, deadletter_partition DESC, deadletter_offset DESC
LIMIT {limit:UInt32}
