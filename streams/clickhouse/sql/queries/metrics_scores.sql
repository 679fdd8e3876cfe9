-- Scores of one rolling window by channel and store, with their counts.
SELECT channel, store_id, survey, responses, promoters, detractors, satisfied, ces_sum,
       any(window_end) OVER () AS window_end
FROM {database:Identifier}.scores_rolling
WHERE window = {window:String}
ORDER BY channel, store_id, survey
