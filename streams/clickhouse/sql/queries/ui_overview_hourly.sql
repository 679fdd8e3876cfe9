-- The overview's score counts per hour (docs/ui.md), from the documented
-- `scores_minute` view: one row per hour, channel, store and survey in
-- [since, until), an empty channel or store meaning all. streams/web/overview.py
-- rolls them up; scores are never averaged.
SELECT toStartOfHour(minute) AS at, channel, store_id, survey,
       sum(responses) AS responses, sum(promoters) AS promoters,
       sum(detractors) AS detractors, sum(satisfied) AS satisfied,
       sum(ces_sum) AS ces_sum, sum(ces_sum_squares) AS ces_sum_squares
FROM {database:Identifier}.scores_minute
WHERE minute >= {since:DateTime('UTC')} AND minute < {until:DateTime('UTC')}
  AND ({channel:String} = '' OR channel = {channel:String})
  AND ({store:String} = '' OR store_id = {store:String})
GROUP BY at, channel, store_id, survey
ORDER BY at, channel, store_id, survey
