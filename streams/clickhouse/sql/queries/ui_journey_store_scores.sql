-- The journey map's scores per stage at one store (docs/ui.md) from
-- `store_scores_by_stage_daily`: answers given in [since_day, until_day) in
-- journeys that had a touchpoint at {store}, by the stage of the touchpoint
-- they rate, with the page's filters.
SELECT stage, survey, sum(responses) AS responses, sum(promoters) AS promoters,
       sum(detractors) AS detractors, sum(satisfied) AS satisfied,
       sum(ces_sum) AS ces_sum, sum(ces_sum_squares) AS ces_sum_squares
FROM {database:Identifier}.store_scores_by_stage_daily
WHERE day >= {since_day:Date} AND day < {until_day:Date}
  AND store_id = {store:String}
  AND ({channel:String} = '' OR first_channel = {channel:String})
  AND ({segment:String} = '' OR segment = {segment:String})
  AND ({b2b:Int8} < 0 OR b2b = {b2b:Int8})
GROUP BY stage, survey
ORDER BY stage, survey
