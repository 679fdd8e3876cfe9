-- A person with a cross-channel, converted journey, to show with cx journey.
SELECT customer_key
FROM {database:Identifier}.current_journeys
WHERE converted = 1 AND length(channels) > 1 AND customer_key LIKE 'customer_id:%'
ORDER BY length(pain_kinds) DESC, touchpoints DESC, customer_key
LIMIT 1
