-- Rejected events, mirrored from the dead-letter topic for BI: why, from
-- where, when. The original bytes stay on the topic only (they may hold
-- personal data); error messages never repeat input values.
CREATE TABLE IF NOT EXISTS {database:Identifier}.deadletters
(
    received_at            DateTime64(3, 'UTC'),
    channel                LowCardinality(String),
    reason                 LowCardinality(String) COMMENT 'primary reason code',
    reasons                Array(LowCardinality(String)) COMMENT 'reason of every error found',
    errors                 String COMMENT 'JSON array of {reason, field, message}',
    event_id               String COMMENT 'when readable',
    event_type             LowCardinality(String) COMMENT 'when readable',
    source_topic           LowCardinality(String),
    source_partition       UInt32,
    source_offset          UInt64,
    source_timestamp       Nullable(DateTime64(3, 'UTC')),
    payload_bytes          UInt32,
    payload_sha256         String COMMENT 'to match a stored row with the record on the topic',
    deadletter_partition   UInt32,
    deadletter_offset      UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (source_topic, source_partition, source_offset)
SETTINGS non_replicated_deduplication_window = 10000;
