-- The alerts page's recent notices (docs/ui.md) from `alert_notices`:
-- firing and resolved ones decided at or after since_ms, newest first, at
-- most `limit`.
SELECT at_ms, status, rule, severity, metric, slice, episode_started_at_ms, value, baseline,
       n, baseline_n, bound, window, condition, reason, summary, context, episode_open
FROM {database:Identifier}.alert_notices
WHERE at_ms >= {since_ms:Int64}
ORDER BY at_ms DESC, rule, slice, status
LIMIT {limit:UInt32}
