-- The journey map's funnel at one store (docs/ui.md) from
-- `store_funnel_daily`: journeys begun in [since_day, until_day) that had a
-- touchpoint at {store}, per first channel, with the page's filters (empty,
-- or b2b < 0: all). As ui_journey_funnel, which reads every journey.
SELECT first_channel, sum(journeys) AS journeys,
       sum(reached_awareness) AS reached_awareness,
       sum(reached_consideration) AS reached_consideration,
       sum(reached_purchase) AS reached_purchase,
       sum(reached_post_purchase) AS reached_post_purchase,
       sum(reached_loyalty) AS reached_loyalty,
       sum(converted) AS converted,
       sum(continued_consideration) AS continued_consideration,
       sum(continued_purchase) AS continued_purchase,
       sum(continued_post_purchase) AS continued_post_purchase,
       sum(continued_loyalty) AS continued_loyalty
FROM {database:Identifier}.store_funnel_daily
WHERE day >= {since_day:Date} AND day < {until_day:Date}
  AND store_id = {store:String}
  AND ({channel:String} = '' OR first_channel = {channel:String})
  AND ({segment:String} = '' OR segment = {segment:String})
  AND ({b2b:Int8} < 0 OR b2b = {b2b:Int8})
GROUP BY first_channel
ORDER BY first_channel
