-- How far back each table with a retention TTL may have lost rows: the
-- newest event time any TTL it has had could expire (the row with the
-- highest horizon wins). The worker raises it at start from the TTL it finds
-- and the one it sets (streams/clickhouse/retention.py), and the metrics
-- check at start never rebuilds a month at or before it: metrics_minute
-- keeps the counts of touchpoints that expired, even after the TTL is
-- raised or removed.
CREATE TABLE IF NOT EXISTS {database:Identifier}.retention_horizons
(
    table       LowCardinality(String),
    horizon     DateTime64(3, 'UTC') COMMENT 'rows of the table older than this may have expired',
    recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(horizon)
ORDER BY table;
