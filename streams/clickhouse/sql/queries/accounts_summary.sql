-- B2B accounts for `cx accounts`: the ones with the most people, or one.
SELECT
    account_id, people, active_people_30d, touchpoints, purchases, revenue,
    nps_responses, nps, nps_ci_low, nps_ci_high,
    csat_responses, csat, csat_ci_low, csat_ci_high,
    ces_responses, ces, ces_ci_low, ces_ci_high,
    support_contacts, open_support_contacts, slow_support_contacts,
    people_scored, people_high_risk, people_medium_risk, high_risk_share_pct,
    account_risk_score, account_risk
FROM {database:Identifier}.account_summary
WHERE {account:String} = '' OR account_id = {account:String}
ORDER BY people DESC, touchpoints DESC, account_id
LIMIT {top:UInt32}
