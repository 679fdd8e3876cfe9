-- Support contacts opened in [since, until) per channel: count and the 90th
-- percentile of first answer and resolution (ms), for the alert rules.
SELECT
    channel,
    count(),
    quantileExactIf(0.9)(first_answer_ms, first_answer_ms IS NOT NULL),
    quantileExactIf(0.9)(resolution_ms, resolution_ms IS NOT NULL)
FROM {database:Identifier}.support_contacts
WHERE opened_at_ms >= {since_ms:Int64} AND opened_at_ms < {until_ms:Int64}
GROUP BY channel
