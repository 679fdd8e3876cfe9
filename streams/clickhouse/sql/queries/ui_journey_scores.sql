-- The journey map's scores per stage (docs/ui.md) from
-- `scores_by_stage_daily`: answers given in [since_day, until_day) by the
-- stage of the touchpoint they rate, with the page's filters (channel: the
-- one their journey began on).
SELECT stage, survey, sum(responses) AS responses, sum(promoters) AS promoters,
       sum(detractors) AS detractors, sum(satisfied) AS satisfied,
       sum(ces_sum) AS ces_sum, sum(ces_sum_squares) AS ces_sum_squares
FROM {database:Identifier}.scores_by_stage_daily
WHERE day >= {since_day:Date} AND day < {until_day:Date}
  AND ({channel:String} = '' OR first_channel = {channel:String})
  AND ({segment:String} = '' OR segment = {segment:String})
  AND ({b2b:Int8} < 0 OR b2b = {b2b:Int8})
GROUP BY stage, survey
ORDER BY stage, survey
