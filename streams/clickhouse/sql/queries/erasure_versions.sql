-- Each key's last journey version (deleted journeys included): the eraser
-- tombstones every closure up to it.
SELECT customer_key, max(version)
FROM {database:Identifier}.journeys
WHERE customer_key IN {keys:Array(String)}
GROUP BY customer_key
