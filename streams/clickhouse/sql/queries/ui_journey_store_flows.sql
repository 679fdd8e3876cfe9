-- The journey map's flows at one store (docs/ui.md) from
-- `store_journey_flows_daily`: journeys begun in [since_day, until_day)
-- that had a touchpoint at {store}, with the page's filters. An empty
-- from_stage: where journeys entered.
SELECT from_stage, from_channel, to_stage, to_channel, sum(journeys) AS journeys
FROM {database:Identifier}.store_journey_flows_daily
WHERE day >= {since_day:Date} AND day < {until_day:Date}
  AND store_id = {store:String}
  AND ({channel:String} = '' OR first_channel = {channel:String})
  AND ({segment:String} = '' OR segment = {segment:String})
  AND ({b2b:Int8} < 0 OR b2b = {b2b:Int8})
GROUP BY from_stage, from_channel, to_stage, to_channel
ORDER BY from_stage, from_channel, to_stage, to_channel
