-- The latest recorded state of one erasure request.
SELECT
    request_id,
    toUnixTimestamp64Milli(requested_at) AS requested_at_ms,
    toUnixTimestamp64Milli(completed_at) AS completed_at_ms,
    suppressed,
    removed,
    status,
    reason
FROM {database:Identifier}.erasures
WHERE request_id = {request_id:String}
ORDER BY recorded_at DESC
LIMIT 1
