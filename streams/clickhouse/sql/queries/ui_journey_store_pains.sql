-- The journey map's pain points per stage at one store (docs/ui.md) from
-- `store_pain_points_by_stage_daily`: pain points in [since_day, until_day)
-- of journeys that had a touchpoint at {store}, by stage and kind, with the
-- page's filters.
SELECT stage, kind, sum(pain_points) AS pain_points
FROM {database:Identifier}.store_pain_points_by_stage_daily
WHERE day >= {since_day:Date} AND day < {until_day:Date}
  AND store_id = {store:String}
  AND ({channel:String} = '' OR first_channel = {channel:String})
  AND ({segment:String} = '' OR segment = {segment:String})
  AND ({b2b:Int8} < 0 OR b2b = {b2b:Int8})
GROUP BY stage, kind
ORDER BY stage, kind
