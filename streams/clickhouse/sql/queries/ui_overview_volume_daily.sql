-- The overview's volume per day and channel (docs/ui.md), from the
-- documented `volume_daily` view: events, purchases and revenue per currency
-- in [since_day, until_day), an empty channel or store meaning all.
SELECT day AS at, channel, currency,
       sum(events) AS events, sum(purchases) AS purchases, sum(revenue) AS revenue
FROM {database:Identifier}.volume_daily
WHERE day >= {since_day:Date} AND day < {until_day:Date}
  AND ({channel:String} = '' OR channel = {channel:String})
  AND ({store:String} = '' OR store_id = {store:String})
GROUP BY at, channel, currency
ORDER BY at, channel, currency
