-- Every identifier linked to a person now.
SELECT identifier
FROM {database:Identifier}.identity_map
WHERE identifier IN (
    SELECT identifier FROM {database:Identifier}.identity_map WHERE customer_key = {key:String}
)
GROUP BY identifier
HAVING argMax(customer_key, log_offset) = {key:String}
ORDER BY identifier
