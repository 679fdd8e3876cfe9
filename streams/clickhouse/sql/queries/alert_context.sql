-- Pain points in [since, until) by kind and the touchpoint that caused them,
-- most frequent first: what an alert says to look at.
SELECT p.kind, t.channel, t.store_id, t.event_type, count() AS n
FROM
(
    SELECT
        JSONExtractString(pain, 'kind') AS kind,
        JSONExtractInt(pain, 'at_ms') AS at_ms,
        JSONExtractString(pain, 'event_id') AS event_id
    FROM {database:Identifier}.current_journeys AS j
    ARRAY JOIN JSONExtractArrayRaw(j.pain_points) AS pain
) AS p
LEFT JOIN
(
    SELECT event_id, channel, store_id, event_type FROM {database:Identifier}.touchpoints
    WHERE occurred_at >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')
) AS t ON t.event_id = p.event_id
WHERE p.at_ms >= {since_ms:Int64} AND p.at_ms < {until_ms:Int64}
GROUP BY p.kind, t.channel, t.store_id, t.event_type
ORDER BY n DESC
LIMIT 200
