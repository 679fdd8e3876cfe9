-- The journey map's support response times per day and channel (docs/ui.md),
-- as `response_times_daily` has them (quantiles of days do not combine):
-- contacts opened in [since_day, until_day) on the channel asked.
SELECT day, channel, contacts, answered, resolved,
       first_answer_p50_ms, first_answer_p90_ms, resolution_p50_ms, resolution_p90_ms
FROM {database:Identifier}.response_times_daily
WHERE day >= {since_day:Date} AND day < {until_day:Date}
  AND ({channel:String} = '' OR channel = {channel:String})
ORDER BY day, channel
