-- Support contacts opened in [since, until) per channel: count and the 90th
-- percentile of first answer and resolution (ms), for the alert rules.
SELECT
    channel,
    count(),
    quantileExactIf(0.9)(first_answer_ms, first_answer_ms IS NOT NULL),
    quantileExactIf(0.9)(resolution_ms, resolution_ms IS NOT NULL)
FROM
(
    SELECT
        JSONExtract(contact, 'opened_at_ms', 'Nullable(Int64)') AS opened_at_ms,
        JSONExtractString(contact, 'channel') AS channel,
        JSONExtract(contact, 'first_answer_ms', 'Nullable(Int64)') AS first_answer_ms,
        JSONExtract(contact, 'resolution_ms', 'Nullable(Int64)') AS resolution_ms
    FROM {database:Identifier}.current_journeys
    ARRAY JOIN JSONExtractArrayRaw(support) AS contact
)
WHERE opened_at_ms >= {since_ms:Int64} AND opened_at_ms < {until_ms:Int64}
GROUP BY channel
