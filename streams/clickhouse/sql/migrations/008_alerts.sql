-- Every alert notice: firing when a rule's condition starts to hold for a
-- slice, resolved when it clears (one of each per episode).
CREATE TABLE IF NOT EXISTS {database:Identifier}.alerts
(
    at_ms                   Int64 COMMENT 'when the evaluator decided (epoch ms)',
    status                  LowCardinality(String) COMMENT 'firing or resolved',
    rule                    String,
    severity                LowCardinality(String),
    metric                  LowCardinality(String),
    slice                   String COMMENT 'e.g. store_id=tehran-04',
    episode_started_at_ms   Int64,
    value                   Nullable(Float64) COMMENT 'the metric in the window',
    baseline                Nullable(Float64) COMMENT 'its baseline, for drops and volume',
    n                       UInt64 COMMENT 'answers, contacts or events behind the value',
    reason                  String,
    context                 String COMMENT 'JSON: top pain points and touchpoints behind it'
)
ENGINE = ReplacingMergeTree
ORDER BY (rule, slice, episode_started_at_ms, status);
