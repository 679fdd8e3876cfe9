-- One row per accepted event (unique event_id). Email and phone appear only
-- as keyed hashes. Empty string means "absent" in the String columns.
CREATE TABLE IF NOT EXISTS {database:Identifier}.touchpoints
(
    event_id          String,
    channel           LowCardinality(String),
    event_type        LowCardinality(String),
    stage             LowCardinality(String) COMMENT 'journey stage of the event type; empty for signals such as login',
    occurred_at       DateTime64(3, 'UTC') COMMENT 'event time, from the producer',
    received_at       DateTime64(3, 'UTC') COMMENT 'when the processor read it',
    person_key        String COMMENT 'the person the event is keyed by',
    customer_id       String,
    anonymous_id      String,
    email_hash        String COMMENT 'keyed hash of the normalised email',
    phone_hash        String COMMENT 'keyed hash of the E.164 phone',
    loyalty_id        String,
    store_id          LowCardinality(String),
    campaign_id       String,
    session_id        String,
    locale            LowCardinality(String),
    user_agent        String,
    b2b_account_id    String,
    survey            LowCardinality(String) COMMENT 'nps, csat or ces for survey_response',
    score             Nullable(UInt8),
    dimension         LowCardinality(String),
    about_event_id    String,
    order_id          String,
    revenue           Nullable(Decimal(18, 4)),
    currency          LowCardinality(String),
    contact_id        String,
    message_kind      LowCardinality(String),
    product_id        String,
    properties        String COMMENT 'all properties as a JSON object, extras included',
    schema_version    UInt16,
    source_topic      LowCardinality(String),
    source_partition  UInt32,
    source_offset     UInt64,
    route_partition   UInt16 COMMENT 'partition of the person-keyed touchpoints topic',
    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_person_key person_key TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (channel, event_type, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 10000;
