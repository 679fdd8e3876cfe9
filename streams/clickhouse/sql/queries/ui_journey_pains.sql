-- The journey map's pain points per stage (docs/ui.md) from
-- `pain_points_by_stage_daily`: pain points in [since_day, until_day) by
-- stage and kind, with the page's filters (channel: the one their journey
-- began on).
SELECT stage, kind, sum(pain_points) AS pain_points
FROM {database:Identifier}.pain_points_by_stage_daily
WHERE day >= {since_day:Date} AND day < {until_day:Date}
  AND ({channel:String} = '' OR first_channel = {channel:String})
  AND ({segment:String} = '' OR segment = {segment:String})
  AND ({b2b:Int8} < 0 OR b2b = {b2b:Int8})
GROUP BY stage, kind
ORDER BY stage, kind
