-- The overview's volume per hour and channel (docs/ui.md), from the
-- documented `volume_minute` view: events, purchases and revenue per
-- currency in [since, until), an empty channel or store meaning all.
SELECT toStartOfHour(minute) AS at, channel, currency,
       sum(events) AS events, sum(purchases) AS purchases, sum(revenue) AS revenue
FROM {database:Identifier}.volume_minute
WHERE minute >= {since:DateTime('UTC')} AND minute < {until:DateTime('UTC')}
  AND ({channel:String} = '' OR channel = {channel:String})
  AND ({store:String} = '' OR store_id = {store:String})
GROUP BY at, channel, currency
ORDER BY at, channel, currency
