-- People by churn risk, per channel they were last seen on.
SELECT channel, people, high_risk, medium_risk, low_risk
FROM {database:Identifier}.churn_risk_by_segment
ORDER BY channel
