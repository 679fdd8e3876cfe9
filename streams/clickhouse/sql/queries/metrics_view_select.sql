-- The SELECT of the materialized view that fills metrics_minute: the one
-- definition of the metrics, used again to rebuild a month.
SELECT as_select
FROM system.tables
WHERE database = {database:String} AND name = 'metrics_minute_mv'
