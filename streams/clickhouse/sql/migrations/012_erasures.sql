-- One row per erasure request (GDPR art. 17) and state, re-recorded as it
-- progresses; the latest recorded_at of a request wins (FINAL, or the
-- query erasure_status). It says that a request was carried out, when and
-- how many rows went, and never whom it was about: no identifier, key or
-- hash of the person, in clear or hashed (streams/erasure/store.py).
CREATE TABLE IF NOT EXISTS {database:Identifier}.erasures
(
    request_id    String COMMENT 'the request, as its requester names it: never derived from the person',
    requested_at  DateTime64(3, 'UTC'),
    completed_at  Nullable(DateTime64(3, 'UTC')) COMMENT 'when every table was erased; NULL before',
    suppressed    Bool COMMENT 'whether new events of the person are suppressed',
    removed       Map(LowCardinality(String), UInt64) COMMENT 'rows removed, by table',
    status        LowCardinality(String) COMMENT 'requested, erased, failed, ...',
    reason        LowCardinality(String) COMMENT 'why it failed, or what is left (never personal data)',
    recorded_at   DateTime64(6, 'UTC') DEFAULT now64(6) COMMENT 'when this state was recorded: the version'
)
ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY request_id;

-- Touchpoints erased, by month of event time: metrics_minute keeps their
-- counts (anonymous aggregates stay), and the metrics check at start adds
-- these to the touchpoints it compares them with (metrics_off_months.sql).
CREATE TABLE IF NOT EXISTS {database:Identifier}.erased_touchpoints
(
    month UInt32 COMMENT 'YYYYMM of the erased touchpoints'' event time',
    rows  UInt64
)
ENGINE = SummingMergeTree
ORDER BY month
SETTINGS non_replicated_deduplication_window = 1000;
