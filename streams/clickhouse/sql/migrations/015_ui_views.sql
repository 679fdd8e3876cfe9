-- The views the web UI reads (docs/ui.md, docs/metrics.md), for BI tools
-- too. The score views gain the sum of squared CES answers, so a CES
-- interval can be computed over any range; journeys gain the channel each
-- stage was first reached on; and journeys get a segment (who the person
-- was when the journey began) and a B2B flag, which the journey map's
-- views (funnel, flows between stages, scores and pain points per stage)
-- carry as columns. A replaced view keeps every column in its order and
-- adds its new one at the end; replacing resets its SQL security, so each
-- is set again below.

CREATE OR REPLACE VIEW {database:Identifier}.scores_minute AS
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
    sum(m.ces_easy) AS ces_easy,
    sum(m.ces_sum_squares) AS ces_sum_squares
FROM {database:Identifier}.metrics_minute AS m
WHERE survey != ''
GROUP BY minute, channel, store_id, survey;

CREATE OR REPLACE VIEW {database:Identifier}.scores_daily AS
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
    sum(m.ces_easy) AS ces_easy,
    sum(m.ces_sum_squares) AS ces_sum_squares
FROM {database:Identifier}.metrics_minute AS m
WHERE survey != ''
GROUP BY day, channel, store_id, survey;

CREATE OR REPLACE VIEW {database:Identifier}.scores_rolling AS
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
    sum(m.ces_sum) AS ces_sum,
    sum(m.ces_sum_squares) AS ces_sum_squares
FROM {database:Identifier}.metrics_minute AS m
ARRAY JOIN [('15m', 15), ('1h', 60), ('24h', 1440), ('7d', 10080)] AS w
CROSS JOIN (SELECT toStartOfMinute(now('UTC')) + INTERVAL 1 MINUTE AS latest) AS l
WHERE survey != '' AND minute >= latest - toIntervalMinute(w.2) AND minute < latest
GROUP BY window, channel, store_id, survey;

-- The channel each stage was first reached on (the journey fold writes it;
-- empty in rows written before this migration until they are rewritten).
ALTER TABLE {database:Identifier}.journeys
    ADD COLUMN IF NOT EXISTS stage_channels Array(LowCardinality(String))
    COMMENT 'the channel each of stages was first reached on';

CREATE OR REPLACE VIEW {database:Identifier}.current_journeys AS
SELECT * EXCEPT (version, is_deleted, stored_at)
FROM {database:Identifier}.journeys FINAL;

-- Every current journey with who its person was when it began: `new` (no
-- journey of theirs began earlier), `returning` (earlier journeys, none
-- with a purchase) or `customer` (they purchased in an earlier journey);
-- among the journeys kept (a retention makes older people look newer). A
-- journey is B2B when any of its touchpoints carried a business account.
CREATE VIEW IF NOT EXISTS {database:Identifier}.segmented_journeys AS
SELECT
    j.*,
    multiIf(j.earlier_journeys = 0, 'new', j.purchased_before = 0, 'returning', 'customer') AS segment,
    toUInt8(arrayExists(t -> t >= j.started_at AND t <= j.last_at, a.account_times)) AS b2b
FROM
(
    SELECT
        *,
        toUInt32(row_number() OVER (PARTITION BY customer_key ORDER BY started_at) - 1)
            AS earlier_journeys,
        toUInt8(max(converted) OVER (PARTITION BY customer_key ORDER BY started_at
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) AS purchased_before
    FROM {database:Identifier}.current_journeys
) AS j
LEFT JOIN
(
    SELECT customer_key, groupArray(occurred_at) AS account_times
    FROM {database:Identifier}.customer_touchpoints
    WHERE b2b_account_id != ''
    GROUP BY customer_key
) AS a ON a.customer_key = j.customer_key;

-- The funnel per day a journey began, the channel it began on, segment and
-- B2B: journeys, journeys that reached each stage, and converted ones.
CREATE VIEW IF NOT EXISTS {database:Identifier}.funnel_by_segment_daily AS
SELECT
    toDate(started_at) AS day, first_channel, segment, b2b,
    count() AS journeys,
    countIf(has(stages, 'awareness')) AS reached_awareness,
    countIf(has(stages, 'consideration')) AS reached_consideration,
    countIf(has(stages, 'purchase')) AS reached_purchase,
    countIf(has(stages, 'post_purchase')) AS reached_post_purchase,
    countIf(has(stages, 'loyalty')) AS reached_loyalty,
    countIf(converted = 1) AS converted
FROM {database:Identifier}.segmented_journeys
GROUP BY day, first_channel, segment, b2b;

-- Where journeys went (a Sankey): consecutive stages in order of first
-- reach, each with the channel it was reached on, counted per day the
-- journey began, its first channel, segment and B2B. A row with an empty
-- from_stage is where journeys entered: their first stage. So the journeys
-- that reached a stage on a channel are the sum over rows with that
-- to_stage and to_channel. Channel '' : written before this view existed.
CREATE VIEW IF NOT EXISTS {database:Identifier}.journey_flows_daily AS
SELECT
    toDate(started_at) AS day, first_channel, segment, b2b,
    from_stage, from_channel, to_stage, to_channel,
    count() AS journeys
FROM
(
    SELECT
        started_at, first_channel, segment, b2b,
        arrayMap(s -> toString(s), stages) AS reached,
        if(length(stage_channels) = length(stages),
           arrayMap(c -> toString(c), stage_channels),
           arrayWithConstant(length(stages), '')) AS reached_on
    FROM {database:Identifier}.segmented_journeys
    WHERE notEmpty(stages)
)
ARRAY JOIN
    arrayPushFront(arrayPopBack(reached), '') AS from_stage,
    arrayPushFront(arrayPopBack(reached_on), '') AS from_channel,
    reached AS to_stage,
    reached_on AS to_channel
GROUP BY day, first_channel, segment, b2b, from_stage, from_channel, to_stage, to_channel;

-- Survey answers per day answered, the stage of the touchpoint they rate
-- (the journeys' surveys; '' when they rate none), the channel they came
-- in on, their journey's first channel, segment and B2B: the emotion per
-- stage, with the counts every score and interval is computed from.
CREATE VIEW IF NOT EXISTS {database:Identifier}.scores_by_stage_daily AS
SELECT
    toDate(fromUnixTimestamp64Milli(at_ms, 'UTC')) AS day,
    stage, channel, first_channel, survey, segment, b2b,
    count() AS responses,
    multiIf(
        survey = 'nps', round(100 * (countIf(answer >= 9) - countIf(answer <= 6)) / count(), 2),
        survey = 'csat', round(100 * countIf(answer >= 4) / count(), 2),
        round(sum(answer) / count(), 3)
    ) AS score,
    countIf(survey = 'nps' AND answer >= 9) AS promoters,
    countIf(survey = 'nps' AND answer >= 7 AND answer <= 8) AS passives,
    countIf(survey = 'nps' AND answer <= 6) AS detractors,
    countIf(survey = 'csat' AND answer >= 4) AS satisfied,
    toUInt64(sumIf(answer, survey = 'ces')) AS ces_sum,
    toUInt64(sumIf(answer * answer, survey = 'ces')) AS ces_sum_squares,
    countIf(survey = 'ces' AND answer >= 5) AS ces_easy
FROM
(
    SELECT
        first_channel, segment, b2b,
        JSONExtractString(a, 'survey') AS survey,
        JSONExtractInt(a, 'score') AS answer,
        JSONExtractInt(a, 'at_ms') AS at_ms,
        JSONExtractString(a, 'channel') AS channel,
        JSONExtractString(a, 'rated_stage') AS stage
    FROM {database:Identifier}.segmented_journeys
    ARRAY JOIN JSONExtractArrayRaw(surveys) AS a
)
GROUP BY day, stage, channel, first_channel, survey, segment, b2b;

-- Pain points per day, the stage where it hurt, kind, the first channel of
-- their journey, segment and B2B. The stage is the one of the touchpoint
-- the pain point names (an abandoned checkout: consideration; support,
-- returns: post_purchase), but a low score's is the stage of the touchpoint
-- it rates and an opt-out's that of the message it answered (a campaign:
-- awareness, else post_purchase); an app crash has none ('').
CREATE VIEW IF NOT EXISTS {database:Identifier}.pain_points_by_stage_daily AS
SELECT
    toDate(fromUnixTimestamp64Milli(at_ms, 'UTC')) AS day,
    stage, kind, first_channel, segment, b2b,
    count() AS pain_points
FROM
(
    SELECT
        first_channel, segment, b2b,
        JSONExtractString(pain, 'kind') AS kind,
        JSONExtractInt(pain, 'at_ms') AS at_ms,
        multiIf(
            kind = 'abandoned_checkout', 'consideration',
            kind IN ('unanswered_support', 'slow_support', 'return_after_purchase'), 'post_purchase',
            kind = 'opt_out_after_message',
                if(JSONExtractString(pain, 'detail') = 'campaign', 'awareness', 'post_purchase'),
            kind = 'low_score',
                JSONExtractString(arrayFirst(
                    a -> JSONExtractString(a, 'event_id') = JSONExtractString(pain, 'event_id'),
                    JSONExtractArrayRaw(surveys)), 'rated_stage'),
            ''
        ) AS stage
    FROM {database:Identifier}.segmented_journeys
    ARRAY JOIN JSONExtractArrayRaw(pain_points) AS pain
)
GROUP BY day, stage, kind, first_channel, segment, b2b;

ALTER TABLE {database:Identifier}.scores_minute MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.scores_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.scores_rolling MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.current_journeys MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.segmented_journeys MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.funnel_by_segment_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.journey_flows_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.scores_by_stage_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.pain_points_by_stage_daily MODIFY SQL SECURITY DEFINER;
