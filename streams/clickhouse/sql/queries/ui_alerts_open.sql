-- The alerts page's open episodes (docs/ui.md) from `alert_notices`: the
-- firing notice of every episode still open, newest first.
SELECT at_ms, status, rule, severity, metric, slice, episode_started_at_ms, value, baseline,
       n, baseline_n, bound, window, condition, reason, summary, context
FROM {database:Identifier}.alert_notices
WHERE episode_open = 1 AND status = 'firing'
ORDER BY at_ms DESC, rule, slice
