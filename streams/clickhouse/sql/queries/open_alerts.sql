-- Alert episodes still open (their last notice says firing), with what
-- their firing notice said: restored when the evaluator starts, so a
-- restart does not page again, and re-sent to Alertmanager targets.
SELECT rule, slice,
       argMax(episode_started_at_ms, at_ms) AS started,
       max(at_ms) AS fired_at_ms,
       argMax(severity, at_ms) AS severity,
       argMax(metric, at_ms) AS metric,
       argMax(reason, at_ms) AS reason,
       argMax(summary, at_ms) AS summary,
       argMax(context, at_ms) AS context
FROM {database:Identifier}.alerts
GROUP BY rule, slice
HAVING argMax(status, at_ms) = 'firing'
