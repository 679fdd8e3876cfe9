-- A retried insert of touchpoints (the same block under the same
-- insert_deduplication_token) is dropped by touchpoints, which keeps a
-- deduplication window (002), and, as the worker asks
-- (deduplicate_blocks_in_dependent_materialized_views), by the block the
-- metrics view derives from it: but only where the view's table keeps a
-- window too. Without one, a retry of an insert that had in fact succeeded
-- (a timeout or a reset connection after the server stored it) counted its
-- metrics twice. Direct inserts into metrics_minute without a token (the
-- rebuild at start, streams/clickhouse/reconcile.py) turn deduplication off.
ALTER TABLE {database:Identifier}.metrics_minute
    MODIFY SETTING non_replicated_deduplication_window = 10000;
