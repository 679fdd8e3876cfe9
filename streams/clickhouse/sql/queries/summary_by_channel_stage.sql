-- Stored touchpoints per journey stage (funnel order), one column per channel.
SELECT if(stage = '', '(signal: login, crash, ...)', stage) AS stage_name,
       countIf(channel = 'web') AS web, countIf(channel = 'app') AS app,
       countIf(channel = 'store') AS store, countIf(channel = 'sms') AS sms,
       count() AS total, uniqExact(customer_key) AS people
FROM {database:Identifier}.customer_touchpoints
GROUP BY stage
ORDER BY indexOf(['awareness', 'consideration', 'purchase', 'post_purchase', 'loyalty', ''], stage)
