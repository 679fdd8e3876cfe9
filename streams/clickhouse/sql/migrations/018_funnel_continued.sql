-- The journey map's conversion from one stage to the next (docs/ui.md,
-- docs/metrics.md). A journey can reach a stage without the one before it
-- (a purchase in store with no awareness online), so reached_purchase over
-- reached_consideration can exceed 100 %. The funnel views gain, at the
-- end, continued_<stage>: the journeys that reached both the stage before
-- (in funnel order) and this one, whichever came first. Conversion is
-- continued over the stage before's reach (at most 100 %), drop-off the
-- stage before's reach minus continued, and reached minus continued the
-- journeys that joined at this stage without the one before. funnel_daily,
-- the BI view the others follow, gains the same columns.

CREATE OR REPLACE VIEW {database:Identifier}.funnel_daily AS
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
    round(quantileExactIf(j.time_to_purchase_ms, j.converted = 1) / 60000, 1) AS median_minutes_to_purchase,
    countIf(hasAll(j.stages, ['awareness', 'consideration'])) AS continued_consideration,
    countIf(hasAll(j.stages, ['consideration', 'purchase'])) AS continued_purchase,
    countIf(hasAll(j.stages, ['purchase', 'post_purchase'])) AS continued_post_purchase,
    countIf(hasAll(j.stages, ['post_purchase', 'loyalty'])) AS continued_loyalty
FROM {database:Identifier}.current_journeys AS j
GROUP BY GROUPING SETS ((day, j.first_channel), (day));

CREATE OR REPLACE VIEW {database:Identifier}.funnel_by_segment_daily AS
SELECT
    toDate(started_at) AS day, first_channel, segment, b2b,
    count() AS journeys,
    countIf(has(stages, 'awareness')) AS reached_awareness,
    countIf(has(stages, 'consideration')) AS reached_consideration,
    countIf(has(stages, 'purchase')) AS reached_purchase,
    countIf(has(stages, 'post_purchase')) AS reached_post_purchase,
    countIf(has(stages, 'loyalty')) AS reached_loyalty,
    countIf(converted = 1) AS converted,
    countIf(hasAll(stages, ['awareness', 'consideration'])) AS continued_consideration,
    countIf(hasAll(stages, ['consideration', 'purchase'])) AS continued_purchase,
    countIf(hasAll(stages, ['purchase', 'post_purchase'])) AS continued_post_purchase,
    countIf(hasAll(stages, ['post_purchase', 'loyalty'])) AS continued_loyalty
FROM {database:Identifier}.segmented_journeys
GROUP BY day, first_channel, segment, b2b;

CREATE OR REPLACE VIEW {database:Identifier}.store_funnel_daily AS
SELECT
    toDate(started_at) AS day, store_id, first_channel, segment, b2b,
    count() AS journeys,
    countIf(has(stages, 'awareness')) AS reached_awareness,
    countIf(has(stages, 'consideration')) AS reached_consideration,
    countIf(has(stages, 'purchase')) AS reached_purchase,
    countIf(has(stages, 'post_purchase')) AS reached_post_purchase,
    countIf(has(stages, 'loyalty')) AS reached_loyalty,
    countIf(converted = 1) AS converted,
    countIf(hasAll(stages, ['awareness', 'consideration'])) AS continued_consideration,
    countIf(hasAll(stages, ['consideration', 'purchase'])) AS continued_purchase,
    countIf(hasAll(stages, ['purchase', 'post_purchase'])) AS continued_post_purchase,
    countIf(hasAll(stages, ['post_purchase', 'loyalty'])) AS continued_loyalty
FROM {database:Identifier}.segmented_journeys
ARRAY JOIN stores AS store_id
GROUP BY day, store_id, first_channel, segment, b2b;

ALTER TABLE {database:Identifier}.funnel_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.funnel_by_segment_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.store_funnel_daily MODIFY SQL SECURITY DEFINER;
