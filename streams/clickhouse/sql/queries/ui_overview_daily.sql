-- The overview's score counts per day (docs/ui.md), from the documented
-- `scores_daily` view: one row per day, channel, store and survey in
-- [since, until), an empty channel or store meaning all. streams/web/overview.py
-- rolls them up; scores are never averaged. `ces_sum_squares` (migration
-- 015) gives CES its interval.
SELECT day AS at, channel, store_id, survey,
       responses, promoters, detractors, satisfied, ces_sum, ces_sum_squares
FROM {database:Identifier}.scores_daily
WHERE day >= {since_day:Date} AND day < {until_day:Date}
  AND ({channel:String} = '' OR channel = {channel:String})
  AND ({store:String} = '' OR store_id = {store:String})
ORDER BY at, channel, store_id, survey
