-- What the web UI's alerts page shows (docs/ui.md, docs/alerts.md): each
-- notice keeps the plain-language summary its targets got, and the numbers
-- behind it that the table lacked (the baseline's sample size, the end of
-- the 95% interval a threshold compared, the rule's window and condition).
-- Notices written before this migration have them empty.
ALTER TABLE {database:Identifier}.alerts
    ADD COLUMN IF NOT EXISTS summary String DEFAULT '' COMMENT 'the sentence every target got',
    ADD COLUMN IF NOT EXISTS baseline_n Nullable(UInt64) COMMENT 'answers or events behind the baseline',
    ADD COLUMN IF NOT EXISTS bound Nullable(Float64) COMMENT 'threshold rules: the end of the 95 pct interval compared with the line',
    ADD COLUMN IF NOT EXISTS window String DEFAULT '' COMMENT 'the rule''s window, e.g. 24h',
    ADD COLUMN IF NOT EXISTS condition LowCardinality(String) DEFAULT '' COMMENT 'drop, threshold, volume or silence';

-- Every alert notice once, with whether its episode is still open (the
-- latest notice of its rule and slice is this episode's firing one): the
-- alerts page and BI read this, not the table.
CREATE VIEW IF NOT EXISTS {database:Identifier}.alert_notices AS
SELECT
    *,
    toUInt8(
        argMax(status, at_ms) OVER (PARTITION BY rule, slice) = 'firing'
        AND argMax(episode_started_at_ms, at_ms) OVER (PARTITION BY rule, slice) = episode_started_at_ms
    ) AS episode_open
FROM {database:Identifier}.alerts FINAL;

ALTER TABLE {database:Identifier}.alert_notices MODIFY SQL SECURITY DEFINER;
