-- The latest version of every journey. A journey's row is rewritten with a
-- higher version whenever it changes; a journey that no longer exists (its
-- start moved with a late touchpoint, or its person was merged into another)
-- gets a row with is_deleted = 1. Read with FINAL, or through
-- current_journeys.
CREATE TABLE IF NOT EXISTS {database:Identifier}.journeys
(
    customer_key            String COMMENT 'the person (their strongest identifier)',
    journey_id              String,
    version                 UInt64,
    is_deleted              UInt8,
    as_of                   DateTime64(3, 'UTC') COMMENT 'event-time watermark the row was computed at',
    started_at              DateTime64(3, 'UTC') COMMENT 'first touch',
    last_at                 DateTime64(3, 'UTC') COMMENT 'last touch',
    ended                   UInt8 COMMENT 'no activity for the inactivity gap since last touch',
    touchpoints             UInt32,
    stages                  Array(LowCardinality(String)) COMMENT 'stages reached, in order of first reach',
    stage_reached_at        Array(DateTime64(3, 'UTC')) COMMENT 'when each of stages was first reached',
    channels                Array(LowCardinality(String)) COMMENT 'channels used, in order of first use',
    channel_switches        UInt32 COMMENT 'consecutive touchpoints on different channels',
    first_channel           LowCardinality(String),
    last_channel            LowCardinality(String),
    converted               UInt8 COMMENT 'at least one purchase',
    purchase_channel        LowCardinality(String) COMMENT 'channel of the first purchase',
    first_purchase_at       Nullable(DateTime64(3, 'UTC')),
    time_to_purchase_ms     Nullable(Int64) COMMENT 'first purchase minus first touch',
    purchases               UInt32,
    revenue                 Map(LowCardinality(String), Decimal(18, 4)) COMMENT 'currency -> total',
    support_contacts        UInt16,
    support_first_answer_ms Array(Int64) COMMENT 'per answered contact, opened to first answer',
    support_resolution_ms   Array(Int64) COMMENT 'per resolved contact, opened to resolved',
    support                 String COMMENT 'JSON: contact_id, channel, opened_at_ms, first_answer_ms, resolution_ms, state',
    surveys                 String COMMENT 'JSON: each answer with the touchpoint and stage it rates',
    thank_you_sent          UInt8,
    reminder_sent           UInt8,
    survey_sent             UInt8,
    follow_up_answered      UInt8,
    pain_kinds              Array(LowCardinality(String)) COMMENT 'one entry per pain point',
    pain_points             String COMMENT 'JSON: kind, at_ms, event_id (the touchpoint), detail'
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (customer_key, journey_id);

CREATE VIEW IF NOT EXISTS {database:Identifier}.current_journeys AS
SELECT * EXCEPT (version, is_deleted)
FROM {database:Identifier}.journeys FINAL;
