-- CX metrics per minute and slice, as mergeable counts. A materialized view
-- fills metrics_minute from every insert into touchpoints, in the same
-- insert: touchpoints are stored once per event id, so every count here is
-- exact, a replay adds nothing, and a late event lands in its own minute.
-- Rows are summed on merge; read them with sum() ... GROUP BY (the views
-- below do), never row by row.
CREATE TABLE IF NOT EXISTS {database:Identifier}.metrics_minute
(
    minute          DateTime('UTC') COMMENT 'event time, to the minute',
    channel         LowCardinality(String),
    store_id        LowCardinality(String),
    event_type      LowCardinality(String),
    stage           LowCardinality(String),
    survey          LowCardinality(String),
    dimension       LowCardinality(String),
    currency        LowCardinality(String),
    events          UInt64,
    purchases       UInt64,
    revenue         Decimal(38, 4),
    responses       UInt64 COMMENT 'survey answers',
    nps_promoters   UInt64 COMMENT 'NPS 9-10',
    nps_passives    UInt64 COMMENT 'NPS 7-8',
    nps_detractors  UInt64 COMMENT 'NPS 0-6',
    csat_satisfied  UInt64 COMMENT 'CSAT 4-5',
    ces_sum         UInt64 COMMENT 'sum of CES scores (1-7)',
    ces_sum_squares UInt64 COMMENT 'sum of squared CES scores (for its standard error)',
    ces_easy        UInt64 COMMENT 'CES 5-7'
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, channel, store_id, event_type, stage, survey, dimension, currency);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.metrics_minute_mv
TO {database:Identifier}.metrics_minute AS
SELECT
    toStartOfMinute(occurred_at) AS minute,
    channel, store_id, event_type, stage, survey, dimension, currency,
    count() AS events,
    countIf(event_type IN ('purchase', 'pos_purchase')) AS purchases,
    toDecimal128(sum(ifNull(revenue, toDecimal64(0, 4))), 4) AS revenue,
    countIf(score IS NOT NULL) AS responses,
    countIf(survey = 'nps' AND score >= 9) AS nps_promoters,
    countIf(survey = 'nps' AND score >= 7 AND score <= 8) AS nps_passives,
    countIf(survey = 'nps' AND score <= 6) AS nps_detractors,
    countIf(survey = 'csat' AND score >= 4) AS csat_satisfied,
    toUInt64(sumIf(ifNull(score, 0), survey = 'ces')) AS ces_sum,
    toUInt64(sumIf(ifNull(score, 0) * ifNull(score, 0), survey = 'ces')) AS ces_sum_squares,
    countIf(survey = 'ces' AND score >= 5) AS ces_easy
FROM {database:Identifier}.touchpoints
GROUP BY minute, channel, store_id, event_type, stage, survey, dimension, currency;

-- Touchpoints stored before this migration (the view sees new inserts only).
INSERT INTO {database:Identifier}.metrics_minute
SELECT
    toStartOfMinute(occurred_at) AS minute,
    channel, store_id, event_type, stage, survey, dimension, currency,
    count(), countIf(event_type IN ('purchase', 'pos_purchase')),
    toDecimal128(sum(ifNull(revenue, toDecimal64(0, 4))), 4),
    countIf(score IS NOT NULL),
    countIf(survey = 'nps' AND score >= 9),
    countIf(survey = 'nps' AND score >= 7 AND score <= 8),
    countIf(survey = 'nps' AND score <= 6),
    countIf(survey = 'csat' AND score >= 4),
    toUInt64(sumIf(ifNull(score, 0), survey = 'ces')),
    toUInt64(sumIf(ifNull(score, 0) * ifNull(score, 0), survey = 'ces')),
    countIf(survey = 'ces' AND score >= 5)
FROM {database:Identifier}.touchpoints
GROUP BY minute, channel, store_id, event_type, stage, survey, dimension, currency;

-- NPS, CSAT and CES per minute, channel, store and survey, with their counts.
-- score: NPS = % promoters - % detractors (-100..100); CSAT = % of answers
-- 4-5; CES = mean score (1-7). Empty store_id: not in a store's context.
CREATE VIEW IF NOT EXISTS {database:Identifier}.scores_minute AS
SELECT
    minute, channel, store_id, survey,
    sum(m.responses) AS responses,
    multiIf(
        survey = 'nps', round(100 * (sum(m.nps_promoters) - sum(m.nps_detractors)) / sum(m.responses), 2),
        survey = 'csat', round(100 * sum(m.csat_satisfied) / sum(m.responses), 2),
        round(sum(m.ces_sum) / sum(m.responses), 3)
    ) AS score,
    sum(m.nps_promoters) AS promoters,
    sum(m.nps_passives) AS passives,
    sum(m.nps_detractors) AS detractors,
    sum(m.csat_satisfied) AS satisfied,
    sum(m.ces_sum) AS ces_sum,
    sum(m.ces_easy) AS ces_easy
FROM {database:Identifier}.metrics_minute AS m
WHERE survey != ''
GROUP BY minute, channel, store_id, survey;

CREATE VIEW IF NOT EXISTS {database:Identifier}.scores_daily AS
SELECT
    toDate(minute) AS day, channel, store_id, survey,
    sum(m.responses) AS responses,
    multiIf(
        survey = 'nps', round(100 * (sum(m.nps_promoters) - sum(m.nps_detractors)) / sum(m.responses), 2),
        survey = 'csat', round(100 * sum(m.csat_satisfied) / sum(m.responses), 2),
        round(sum(m.ces_sum) / sum(m.responses), 3)
    ) AS score,
    sum(m.nps_promoters) AS promoters,
    sum(m.nps_passives) AS passives,
    sum(m.nps_detractors) AS detractors,
    sum(m.csat_satisfied) AS satisfied,
    sum(m.ces_sum) AS ces_sum,
    sum(m.ces_easy) AS ces_easy
FROM {database:Identifier}.metrics_minute AS m
WHERE survey != ''
GROUP BY day, channel, store_id, survey;

-- The same per survey dimension (functional, mechanic, humanic; empty when
-- the answer named none).
CREATE VIEW IF NOT EXISTS {database:Identifier}.scores_by_dimension_daily AS
SELECT
    toDate(minute) AS day, channel, store_id, survey, dimension,
    sum(m.responses) AS responses,
    multiIf(
        survey = 'nps', round(100 * (sum(m.nps_promoters) - sum(m.nps_detractors)) / sum(m.responses), 2),
        survey = 'csat', round(100 * sum(m.csat_satisfied) / sum(m.responses), 2),
        round(sum(m.ces_sum) / sum(m.responses), 3)
    ) AS score
FROM {database:Identifier}.metrics_minute AS m
WHERE survey != ''
GROUP BY day, channel, store_id, survey, dimension;

-- Rolling windows (15 minutes, 1 hour, 24 hours, 7 days) of event time,
-- ending now (the current minute included): the scores a dashboard shows.
CREATE VIEW IF NOT EXISTS {database:Identifier}.scores_rolling AS
SELECT
    w.1 AS window,
    any(latest) AS window_end,
    channel, store_id, survey,
    sum(m.responses) AS responses,
    multiIf(
        survey = 'nps', round(100 * (sum(m.nps_promoters) - sum(m.nps_detractors)) / sum(m.responses), 2),
        survey = 'csat', round(100 * sum(m.csat_satisfied) / sum(m.responses), 2),
        round(sum(m.ces_sum) / sum(m.responses), 3)
    ) AS score,
    sum(m.nps_promoters) AS promoters,
    sum(m.nps_detractors) AS detractors,
    sum(m.csat_satisfied) AS satisfied,
    sum(m.ces_sum) AS ces_sum
FROM {database:Identifier}.metrics_minute AS m
ARRAY JOIN [('15m', 15), ('1h', 60), ('24h', 1440), ('7d', 10080)] AS w
CROSS JOIN (SELECT toStartOfMinute(now('UTC')) + INTERVAL 1 MINUTE AS latest) AS l
WHERE survey != '' AND minute >= latest - toIntervalMinute(w.2) AND minute < latest
GROUP BY window, channel, store_id, survey;

-- Volume per day and slice: events, purchases and revenue per currency.
CREATE VIEW IF NOT EXISTS {database:Identifier}.volume_daily AS
SELECT toDate(minute) AS day, channel, store_id, event_type, stage, currency,
       sum(m.events) AS events, sum(m.purchases) AS purchases, sum(m.revenue) AS revenue
FROM {database:Identifier}.metrics_minute AS m
GROUP BY day, channel, store_id, event_type, stage, currency;

-- Events per minute and slice, for dashboards.
CREATE VIEW IF NOT EXISTS {database:Identifier}.volume_minute AS
SELECT minute, channel, store_id, event_type, stage, currency,
       sum(m.events) AS events, sum(m.purchases) AS purchases, sum(m.revenue) AS revenue
FROM {database:Identifier}.metrics_minute AS m
GROUP BY minute, channel, store_id, event_type, stage, currency;

-- People per day and channel (and channel = 'all'): active (a touchpoint
-- that day) and new (their first touchpoint ever that day), counted after
-- stitching, under the person each touchpoint belongs to now.
CREATE VIEW IF NOT EXISTS {database:Identifier}.people_daily AS
SELECT
    day,
    if(grouping(touched_on) = 1, 'all', touched_on) AS channel,
    uniqExact(customer_key) AS active_people,
    uniqExactIf(customer_key, day = first_day) AS new_people
FROM
(
    SELECT
        toDate(occurred_at) AS day,
        channel AS touched_on,
        customer_key,
        min(toDate(occurred_at)) OVER (PARTITION BY customer_key) AS first_day
    FROM {database:Identifier}.customer_touchpoints
)
GROUP BY GROUPING SETS ((day, touched_on), (day));

-- The funnel per day (of the journey's first touch) and first channel, and
-- for all channels (channel = 'all'): journeys reaching each stage,
-- conversion, and conversion on another channel than the journey began on.
CREATE VIEW IF NOT EXISTS {database:Identifier}.funnel_daily AS
SELECT
    toDate(j.started_at) AS day,
    if(grouping(j.first_channel) = 1, 'all', j.first_channel) AS channel,
    count() AS journeys,
    uniqExact(j.customer_key) AS people,
    countIf(has(j.stages, 'awareness')) AS reached_awareness,
    countIf(has(j.stages, 'consideration')) AS reached_consideration,
    countIf(has(j.stages, 'purchase')) AS reached_purchase,
    countIf(has(j.stages, 'post_purchase')) AS reached_post_purchase,
    countIf(has(j.stages, 'loyalty')) AS reached_loyalty,
    countIf(j.converted = 1) AS converted,
    countIf(j.converted = 1 AND j.purchase_channel != j.first_channel) AS converted_on_other_channel,
    round(100 * countIf(j.converted = 1) / count(), 2) AS conversion_pct,
    round(quantileExactIf(j.time_to_purchase_ms, j.converted = 1) / 60000, 1) AS median_minutes_to_purchase
FROM {database:Identifier}.current_journeys AS j
GROUP BY GROUPING SETS ((day, j.first_channel), (day));

-- One row per support contact opened, from the journeys: when, on which
-- channel, and how long to the first answer and to resolution (ms; NULL
-- while there is none).
CREATE VIEW IF NOT EXISTS {database:Identifier}.support_contacts AS
SELECT
    customer_key,
    JSONExtractString(contact, 'contact_id') AS contact_id,
    JSONExtractString(contact, 'channel') AS channel,
    JSONExtract(contact, 'opened_at_ms', 'Nullable(Int64)') AS opened_at_ms,
    JSONExtract(contact, 'first_answer_ms', 'Nullable(Int64)') AS first_answer_ms,
    JSONExtract(contact, 'resolution_ms', 'Nullable(Int64)') AS resolution_ms,
    JSONExtractString(contact, 'state') AS state
FROM {database:Identifier}.current_journeys
ARRAY JOIN JSONExtractArrayRaw(support) AS contact
WHERE opened_at_ms IS NOT NULL;

-- Support response times per day (contact opened) and channel, from the
-- journeys: first answer and resolution, count, mean and percentiles (ms).
CREATE VIEW IF NOT EXISTS {database:Identifier}.response_times_daily AS
SELECT
    toDate(fromUnixTimestamp64Milli(opened_at_ms, 'UTC')) AS day,
    channel,
    count() AS contacts,
    countIf(first_answer_ms IS NOT NULL) AS answered,
    countIf(resolution_ms IS NOT NULL) AS resolved,
    round(avgIf(first_answer_ms, first_answer_ms IS NOT NULL)) AS first_answer_mean_ms,
    quantileExactIf(0.5)(first_answer_ms, first_answer_ms IS NOT NULL) AS first_answer_p50_ms,
    quantileExactIf(0.9)(first_answer_ms, first_answer_ms IS NOT NULL) AS first_answer_p90_ms,
    quantileExactIf(0.99)(first_answer_ms, first_answer_ms IS NOT NULL) AS first_answer_p99_ms,
    round(avgIf(resolution_ms, resolution_ms IS NOT NULL)) AS resolution_mean_ms,
    quantileExactIf(0.5)(resolution_ms, resolution_ms IS NOT NULL) AS resolution_p50_ms,
    quantileExactIf(0.9)(resolution_ms, resolution_ms IS NOT NULL) AS resolution_p90_ms,
    quantileExactIf(0.99)(resolution_ms, resolution_ms IS NOT NULL) AS resolution_p99_ms
FROM {database:Identifier}.support_contacts
GROUP BY day, channel;

-- Support response times per minute the contact opened, for dashboards.
CREATE VIEW IF NOT EXISTS {database:Identifier}.response_times_minute AS
SELECT
    toStartOfMinute(fromUnixTimestamp64Milli(opened_at_ms, 'UTC')) AS minute,
    channel,
    count() AS contacts,
    countIf(first_answer_ms IS NOT NULL) AS answered,
    countIf(resolution_ms IS NOT NULL) AS resolved,
    sumIf(first_answer_ms, first_answer_ms IS NOT NULL) AS first_answer_sum_ms,
    sumIf(resolution_ms, resolution_ms IS NOT NULL) AS resolution_sum_ms
FROM {database:Identifier}.support_contacts
GROUP BY minute, channel;

-- Pain points per day, kind, and the touchpoint that caused them (its
-- channel, store and event type).
CREATE VIEW IF NOT EXISTS {database:Identifier}.pain_points_daily AS
SELECT
    toDate(fromUnixTimestamp64Milli(p.at_ms, 'UTC')) AS day,
    p.kind AS kind,
    t.channel AS channel,
    t.store_id AS store_id,
    t.event_type AS event_type,
    count() AS pain_points,
    uniqExact(p.customer_key) AS people
FROM
(
    SELECT
        customer_key,
        JSONExtractString(pain, 'kind') AS kind,
        JSONExtractInt(pain, 'at_ms') AS at_ms,
        JSONExtractString(pain, 'event_id') AS event_id
    FROM {database:Identifier}.current_journeys
    ARRAY JOIN JSONExtractArrayRaw(pain_points) AS pain
) AS p
LEFT JOIN
(
    SELECT event_id, channel, store_id, event_type FROM {database:Identifier}.touchpoints
) AS t ON t.event_id = p.event_id
GROUP BY day, kind, channel, store_id, event_type;

-- Churn risk: a transparent score per person from their journeys of the last
-- 90 days: 2 per low score, 3 per unanswered and 1 per slow support contact,
-- 1 per return, 3 per opt-out after a message, and 2 when their latest
-- journey held a complaint (low score or poor support) and they have been
-- silent for 14 days since. high >= 5, medium >= 2, else low.
CREATE VIEW IF NOT EXISTS {database:Identifier}.churn_risk AS
SELECT
    customer_key,
    max(j.last_at) AS last_seen,
    argMax(j.last_channel, j.last_at) AS last_channel,
    sum(countEqual(j.pain_kinds, 'low_score')) AS low_scores,
    sum(countEqual(j.pain_kinds, 'unanswered_support')) AS unanswered_contacts,
    sum(countEqual(j.pain_kinds, 'slow_support')) AS slow_contacts,
    sum(countEqual(j.pain_kinds, 'return_after_purchase')) AS returns,
    sum(countEqual(j.pain_kinds, 'opt_out_after_message')) AS opt_outs,
    toUInt8(
        argMax(hasAny(j.pain_kinds, ['low_score', 'unanswered_support', 'slow_support']), j.last_at)
        AND max(j.last_at) < now('UTC') - INTERVAL 14 DAY
    ) AS silent_after_complaint,
    2 * low_scores + 3 * unanswered_contacts + slow_contacts + returns + 3 * opt_outs
        + 2 * silent_after_complaint AS risk_score,
    multiIf(risk_score >= 5, 'high', risk_score >= 2, 'medium', 'low') AS risk
FROM {database:Identifier}.current_journeys AS j
WHERE j.last_at >= now('UTC') - INTERVAL 90 DAY
GROUP BY customer_key;

-- People at each level of churn risk, by the channel they were last seen on.
CREATE VIEW IF NOT EXISTS {database:Identifier}.churn_risk_by_segment AS
SELECT
    last_channel AS channel,
    count() AS people,
    countIf(risk = 'high') AS high_risk,
    countIf(risk = 'medium') AS medium_risk,
    countIf(risk = 'low') AS low_risk
FROM {database:Identifier}.churn_risk
GROUP BY channel;

-- Pain points per minute and kind, for dashboards.
CREATE VIEW IF NOT EXISTS {database:Identifier}.pain_points_minute AS
SELECT
    toStartOfMinute(fromUnixTimestamp64Milli(JSONExtractInt(pain, 'at_ms'), 'UTC')) AS minute,
    JSONExtractString(pain, 'kind') AS kind,
    count() AS pain_points,
    uniqExact(j.customer_key) AS people
FROM {database:Identifier}.current_journeys AS j
ARRAY JOIN JSONExtractArrayRaw(j.pain_points) AS pain
GROUP BY minute, kind;
