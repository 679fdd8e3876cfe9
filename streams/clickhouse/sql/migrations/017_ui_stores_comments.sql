-- The journey map at one store, and the comments of survey answers (docs/ui.md,
-- docs/metrics.md). A journey is at a store when at least one of its
-- touchpoints carried that store (`context.store_id`: a visit, a purchase
-- or pickup there, an answer about it): `segmented_journeys` gains the
-- stores each journey touched, as its last column, and the journey map's
-- views of migration 015 get a twin per store, a row per store a journey
-- touched (so a journey at two stores is in both: filter one store, never
-- sum over stores). `survey_comments` gives each answer's free-text comment
-- (scrubbed of the person's own e-mail and phone at ingest) with the
-- touchpoint it rates, and no identifier of the person.

-- Every current journey with its segment, B2B flag and (new, last) the
-- stores its touchpoints carried, sorted. One pass over the touchpoints that
-- carried an account or a store gives both.
CREATE OR REPLACE VIEW {database:Identifier}.segmented_journeys AS
SELECT
    j.*,
    multiIf(j.earlier_journeys = 0, 'new', j.purchased_before = 0, 'returning', 'customer') AS segment,
    toUInt8(arrayExists(t -> t >= j.started_at AND t <= j.last_at, a.account_times)) AS b2b,
    arraySort(arrayDistinct(arrayMap(v -> v.2,
        arrayFilter(v -> v.1 >= j.started_at AND v.1 <= j.last_at, a.store_visits)))) AS stores
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
    SELECT
        customer_key,
        groupArrayIf(occurred_at, b2b_account_id != '') AS account_times,
        groupArrayIf((occurred_at, toString(store_id)), store_id != '') AS store_visits
    FROM {database:Identifier}.customer_touchpoints
    WHERE b2b_account_id != '' OR store_id != ''
    GROUP BY customer_key
) AS a ON a.customer_key = j.customer_key;

-- funnel_by_segment_daily per store a journey touched.
CREATE VIEW IF NOT EXISTS {database:Identifier}.store_funnel_daily AS
SELECT
    toDate(started_at) AS day, store_id, first_channel, segment, b2b,
    count() AS journeys,
    countIf(has(stages, 'awareness')) AS reached_awareness,
    countIf(has(stages, 'consideration')) AS reached_consideration,
    countIf(has(stages, 'purchase')) AS reached_purchase,
    countIf(has(stages, 'post_purchase')) AS reached_post_purchase,
    countIf(has(stages, 'loyalty')) AS reached_loyalty,
    countIf(converted = 1) AS converted
FROM {database:Identifier}.segmented_journeys
ARRAY JOIN stores AS store_id
GROUP BY day, store_id, first_channel, segment, b2b;

-- journey_flows_daily per store a journey touched.
CREATE VIEW IF NOT EXISTS {database:Identifier}.store_journey_flows_daily AS
SELECT
    toDate(started_at) AS day, store_id, first_channel, segment, b2b,
    from_stage, from_channel, to_stage, to_channel,
    count() AS journeys
FROM
(
    SELECT
        started_at, store_id, first_channel, segment, b2b,
        arrayMap(s -> toString(s), stages) AS reached,
        if(length(stage_channels) = length(stages),
           arrayMap(c -> toString(c), stage_channels),
           arrayWithConstant(length(stages), '')) AS reached_on
    FROM {database:Identifier}.segmented_journeys
    ARRAY JOIN stores AS store_id
    WHERE notEmpty(stages)
)
ARRAY JOIN
    arrayPushFront(arrayPopBack(reached), '') AS from_stage,
    arrayPushFront(arrayPopBack(reached_on), '') AS from_channel,
    reached AS to_stage,
    reached_on AS to_channel
GROUP BY day, store_id, first_channel, segment, b2b, from_stage, from_channel, to_stage, to_channel;

-- scores_by_stage_daily per store the answer's journey touched.
CREATE VIEW IF NOT EXISTS {database:Identifier}.store_scores_by_stage_daily AS
SELECT
    toDate(fromUnixTimestamp64Milli(at_ms, 'UTC')) AS day,
    store_id, stage, channel, first_channel, survey, segment, b2b,
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
        store_id, first_channel, segment, b2b,
        JSONExtractString(a, 'survey') AS survey,
        JSONExtractInt(a, 'score') AS answer,
        JSONExtractInt(a, 'at_ms') AS at_ms,
        JSONExtractString(a, 'channel') AS channel,
        JSONExtractString(a, 'rated_stage') AS stage
    FROM {database:Identifier}.segmented_journeys
    ARRAY JOIN stores AS store_id
    ARRAY JOIN JSONExtractArrayRaw(surveys) AS a
)
GROUP BY day, store_id, stage, channel, first_channel, survey, segment, b2b;

-- pain_points_by_stage_daily per store the pain point's journey touched.
CREATE VIEW IF NOT EXISTS {database:Identifier}.store_pain_points_by_stage_daily AS
SELECT
    toDate(fromUnixTimestamp64Milli(at_ms, 'UTC')) AS day,
    store_id, stage, kind, first_channel, segment, b2b,
    count() AS pain_points
FROM
(
    SELECT
        store_id, first_channel, segment, b2b,
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
    ARRAY JOIN stores AS store_id
    ARRAY JOIN JSONExtractArrayRaw(pain_points) AS pain
)
GROUP BY day, store_id, stage, kind, first_channel, segment, b2b;

-- Every survey answer with a comment: when, which survey and score, the
-- comment, where it was given (channel, store), the touchpoint it rates
-- (the journeys' surveys: about_event_id, else the latest before it) with
-- its stage, event type, channel and store, and its journey's first
-- channel, segment, B2B flag and stores. The person is not named: no
-- customer key, journey or identifier. Answers stay while their
-- touchpoints and journeys are kept (retention, erasure).
CREATE VIEW IF NOT EXISTS {database:Identifier}.survey_comments AS
SELECT
    a.at AS at,
    toDate(a.at) AS day,
    a.event_id AS event_id,
    a.survey AS survey,
    a.score AS score,
    a.dimension AS dimension,
    c.comment AS comment,
    a.channel AS channel,
    toString(c.store_id) AS store_id,
    a.stage AS stage,
    a.rated_event_id AS touchpoint_event_id,
    a.rated_event_type AS touchpoint_event_type,
    toString(r.channel) AS touchpoint_channel,
    toString(r.store_id) AS touchpoint_store_id,
    a.first_channel AS first_channel,
    a.segment AS segment,
    a.b2b AS b2b,
    a.stores AS stores
FROM
(
    SELECT
        first_channel, segment, b2b, stores,
        JSONExtractString(s, 'event_id') AS event_id,
        JSONExtractString(s, 'survey') AS survey,
        toUInt8(JSONExtractInt(s, 'score')) AS score,
        JSONExtractString(s, 'dimension') AS dimension,
        fromUnixTimestamp64Milli(JSONExtractInt(s, 'at_ms'), 'UTC') AS at,
        JSONExtractString(s, 'channel') AS channel,
        JSONExtractString(s, 'rated_event_id') AS rated_event_id,
        JSONExtractString(s, 'rated_event_type') AS rated_event_type,
        JSONExtractString(s, 'rated_stage') AS stage
    FROM {database:Identifier}.segmented_journeys
    ARRAY JOIN JSONExtractArrayRaw(surveys) AS s
) AS a
INNER JOIN
(
    SELECT event_id, store_id, JSONExtractString(properties, 'comment') AS comment
    FROM {database:Identifier}.touchpoints
    WHERE event_type = 'survey_response' AND comment != ''
) AS c ON c.event_id = a.event_id
LEFT JOIN
(
    SELECT event_id, channel, store_id
    FROM {database:Identifier}.touchpoints
    WHERE stage != ''
) AS r ON r.event_id = a.rated_event_id;

ALTER TABLE {database:Identifier}.segmented_journeys MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.store_funnel_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.store_journey_flows_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.store_scores_by_stage_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.store_pain_points_by_stage_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.survey_comments MODIFY SQL SECURITY DEFINER;
