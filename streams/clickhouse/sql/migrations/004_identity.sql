-- Identity stitching. Touchpoints keep the person they were keyed by when
-- written (`customer_key`); when people are found to be one later, the map
-- says where each identifier belongs now, and the view `customer_touchpoints`
-- joins it, so every query sees history under the current person.
ALTER TABLE {database:Identifier}.touchpoints
    ADD COLUMN IF NOT EXISTS customer_key String DEFAULT person_key
    COMMENT 'the person as stitched when written; current person: view customer_touchpoints'
    AFTER person_key;

ALTER TABLE {database:Identifier}.touchpoints
    ADD INDEX IF NOT EXISTS idx_customer_key customer_key TYPE bloom_filter(0.01) GRANULARITY 4;

-- Every identifier the identity log linked, with the key of its person. The
-- row with the highest log offset is current (argMax, or FINAL).
CREATE TABLE IF NOT EXISTS {database:Identifier}.identity_map
(
    identifier    String COMMENT 'kind:value; email and phone as keyed hashes',
    customer_key  String COMMENT 'key of the person: their strongest identifier',
    log_offset    UInt64 COMMENT 'position in the identity log of the decision',
    occurred_at   DateTime64(3, 'UTC') COMMENT 'event time of the evidence',
    INDEX idx_customer_key customer_key TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(log_offset)
ORDER BY identifier;

-- Every link, merge and refused merge, with why.
CREATE TABLE IF NOT EXISTS {database:Identifier}.identity_links
(
    log_offset    UInt64 COMMENT 'position in the identity log',
    seq           UInt16 COMMENT 'decision number within that evidence',
    occurred_at   DateTime64(3, 'UTC') COMMENT 'event time of the evidence',
    event_id      String COMMENT 'the event that carried the identifiers',
    channel       LowCardinality(String),
    decision      LowCardinality(String) COMMENT 'linked (new identifier), merged (two known people), refused',
    reason        LowCardinality(String) COMMENT 'seen_together, strong_conflict, shared_identifier',
    identifier    String COMMENT 'the identifier linked or refused',
    anchor        String COMMENT 'the identifier of the event it was linked to',
    from_key      String COMMENT 'its person before',
    to_key        String COMMENT 'its person after (refused: the anchor''s person)',
    detail        String COMMENT 'conflicting values, or the limit crossed'
)
ENGINE = ReplacingMergeTree
ORDER BY (log_offset, seq);

-- Touchpoints under the person they belong to now.
CREATE VIEW IF NOT EXISTS {database:Identifier}.customer_touchpoints AS
SELECT
    t.* EXCEPT (customer_key),
    if(m.customer_key = '', t.customer_key, m.customer_key) AS customer_key
FROM {database:Identifier}.touchpoints AS t
LEFT JOIN
(
    SELECT identifier, argMax(customer_key, log_offset) AS customer_key
    FROM {database:Identifier}.identity_map
    GROUP BY identifier
) AS m ON t.customer_key = m.identifier;

-- How far each sink that replays a log has recorded it (the highest row wins).
CREATE TABLE IF NOT EXISTS {database:Identifier}.sink_positions
(
    sink      LowCardinality(String),
    position  UInt64
)
ENGINE = ReplacingMergeTree(position)
ORDER BY sink;
