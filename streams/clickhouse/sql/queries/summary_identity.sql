-- Identity decisions by outcome.
SELECT decision, reason, count() AS decisions
FROM {database:Identifier}.identity_links FINAL
GROUP BY decision, reason
ORDER BY decision, reason
