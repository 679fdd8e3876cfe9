-- The key of the person an identifier belongs to now; no row when the
-- identifier was never linked (then it is its own key).
SELECT argMax(customer_key, log_offset)
FROM {database:Identifier}.identity_map
WHERE identifier = {identifier:String}
HAVING count() > 0
