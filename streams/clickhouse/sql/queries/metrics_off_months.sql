-- Months whose per-minute metrics do not add up to the touchpoints they are
-- derived from (every touchpoint counts one event in metrics_minute), those
-- erased since included.
SELECT month
FROM
(
    SELECT month, sum(n) AS touchpoints
    FROM
    (
        SELECT toYYYYMM(occurred_at) AS month, count() AS n
        FROM {database:Identifier}.touchpoints
        GROUP BY month
        UNION ALL
        SELECT month, sum(rows) AS n
        FROM {database:Identifier}.erased_touchpoints
        GROUP BY month
    )
    GROUP BY month
) AS t
FULL OUTER JOIN
(
    SELECT toYYYYMM(minute) AS month, sum(events) AS counted
    FROM {database:Identifier}.metrics_minute
    GROUP BY month
) AS m USING (month)
WHERE touchpoints != counted
ORDER BY month
