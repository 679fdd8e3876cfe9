-- The engine clause of each named table of the processor's database: its
-- TTL, if any, is in it as ClickHouse normalised it.
SELECT name, engine_full
FROM system.tables
WHERE database = {database:String} AND name IN {tables:Array(String)}
