-- Touchpoint counts per slice over [since, until), for the alert rules.
SELECT channel, store_id, stage, dimension, survey,
       sum(events), sum(responses), sum(nps_promoters), sum(nps_detractors), sum(csat_satisfied),
       sum(ces_sum), sum(ces_sum_squares), sum(ces_easy)
FROM {database:Identifier}.metrics_minute
WHERE minute >= {since:DateTime('UTC')} AND minute < {until:DateTime('UTC')}
GROUP BY channel, store_id, stage, dimension, survey
