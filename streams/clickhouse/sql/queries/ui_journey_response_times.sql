-- The journey map's support response times by channel (docs/ui.md) from
-- `response_times_minute`: contacts opened in [since_day, until_day) on the
-- channel asked (empty: all), with the sums that make exact means. The
-- segment and B2B filters do not apply: contacts have neither.
SELECT channel, sum(contacts) AS contacts, sum(answered) AS answered,
       sum(resolved) AS resolved, sum(first_answer_sum_ms) AS first_answer_sum_ms,
       sum(resolution_sum_ms) AS resolution_sum_ms
FROM {database:Identifier}.response_times_minute
WHERE minute >= toDateTime({since_day:Date}, 'UTC') AND minute < toDateTime({until_day:Date}, 'UTC')
  AND ({channel:String} = '' OR channel = {channel:String})
GROUP BY channel
ORDER BY channel
