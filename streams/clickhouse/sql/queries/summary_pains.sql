-- Pain points by kind, over the latest version of every journey.
SELECT kind, count() AS pain_points, uniqExact(customer_key) AS people
FROM {database:Identifier}.current_journeys
ARRAY JOIN pain_kinds AS kind
GROUP BY kind
ORDER BY pain_points DESC
