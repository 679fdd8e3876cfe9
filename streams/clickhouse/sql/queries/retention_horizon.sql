-- The newest event time (epoch ms) up to which a TTL may have expired rows
-- of the table; 0 when it never had one.
SELECT toUnixTimestamp64Milli(max(horizon))
FROM {database:Identifier}.retention_horizons
WHERE table = {table:String}
