-- The stored events of a person being erased (for the deduplication memory).
SELECT event_id
FROM {database:Identifier}.touchpoints
WHERE customer_key IN {keys:Array(String)} OR person_key IN {keys:Array(String)}
