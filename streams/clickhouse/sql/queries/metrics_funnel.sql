-- The funnel of journeys begun in the last days, per first channel and for all.
SELECT
    channel,
    sum(journeys), sum(reached_awareness), sum(reached_consideration), sum(reached_purchase),
    sum(reached_post_purchase), sum(reached_loyalty), sum(converted), sum(converted_on_other_channel)
FROM {database:Identifier}.funnel_daily
WHERE day > today() - {days:UInt16} AND day <= today()
GROUP BY channel
ORDER BY channel = 'all', channel
