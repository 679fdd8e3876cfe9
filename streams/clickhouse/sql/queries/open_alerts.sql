-- Alert episodes still open (their last notice says firing): restored when
-- the evaluator starts, so a restart does not page again.
SELECT rule, slice, argMax(episode_started_at_ms, at_ms) AS started
FROM {database:Identifier}.alerts
GROUP BY rule, slice
HAVING argMax(status, at_ms) = 'firing'
