-- Dead letters per reason, one column per channel.
SELECT reason,
       countIf(channel = 'web') AS web, countIf(channel = 'app') AS app,
       countIf(channel = 'store') AS store, countIf(channel = 'sms') AS sms,
       count() AS total
FROM {database:Identifier}.deadletters
GROUP BY reason
ORDER BY total DESC, reason
