-- Dead letters by time bucket ({bucket_ms}: an hour, a day, or one bucket
-- for all), reason and channel, newest bucket first (`cx deadletters count`).
-- The selection: deadletters_selected.sql.
SELECT
    intDiv(toUnixTimestamp64Milli(received_at), {bucket_ms:Int64}) * {bucket_ms:Int64} AS bucket_ms,
    reason,
    channel,
    count() AS dead_letters
FROM {database:Identifier}.deadletters
WHERE {{include deadletters_selected}}
GROUP BY bucket_ms, reason, channel
ORDER BY bucket_ms DESC, dead_letters DESC, reason, channel
