-- B2B accounts: what CX teams look at per business account. A touchpoint
-- belongs to the account it carries (context.b2b_account_id, column
-- touchpoints.b2b_account_id; empty: none). A person belongs to every
-- account any of their touchpoints carried, under the person they are now
-- (customer_touchpoints: stitching is honoured), so a person who acts for
-- two accounts counts in both, and people summed over accounts can exceed
-- the people there are. Touchpoint numbers (scores, purchases, revenue)
-- follow the touchpoint's own account; person numbers (people, churn risk)
-- follow membership; a support contact follows the account of the
-- touchpoint that opened it.
--
-- Plain views, no aggregate table: a person's account membership changes
-- when identities are stitched, which a table filled at insert could not
-- follow, and only touchpoints that carry an account are read. The scores'
-- 95% intervals are the alerts' (docs/alerts.md): NPS and CES mean +- 1.96
-- standard errors, CSAT the Wilson score interval; clipped to the scale.
-- Every score is NULL without answers: read it with its sample size.

-- One row per account and person who acted for it.
CREATE VIEW IF NOT EXISTS {database:Identifier}.account_people AS
SELECT
    b2b_account_id AS account_id,
    customer_key,
    count() AS touchpoints,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM {database:Identifier}.customer_touchpoints
WHERE b2b_account_id != ''
GROUP BY account_id, customer_key;

-- NPS, CSAT and CES per account, day (event time, UTC), channel and survey,
-- from the answers that carried the account, with their counts and 95%
-- interval.
CREATE VIEW IF NOT EXISTS {database:Identifier}.account_scores_daily AS
WITH 1.959963984540054 AS z
SELECT
    account_id, day, channel, survey, responses,
    multiIf(
        survey = 'nps', round(100 * (promoters - detractors) / responses, 2),
        survey = 'csat', round(100 * satisfied / responses, 2),
        round(ces_sum / responses, 3)
    ) AS score,
    multiIf(
        survey = 'nps', round(greatest(-100, 100 * ((promoters - detractors) / responses
            - z * sqrt(greatest((promoters + detractors) / responses
                - pow((promoters - detractors) / responses, 2), 0) / responses))), 2),
        survey = 'csat', round(100 * greatest(0, ((satisfied / responses + z * z / (2 * responses))
            - z * sqrt(satisfied / responses * (1 - satisfied / responses) / responses
                + z * z / (4 * responses * responses))) / (1 + z * z / responses)), 2),
        round(greatest(1, ces_sum / responses
            - z * sqrt(greatest(ces_sum_squares / responses - pow(ces_sum / responses, 2), 0)
                / responses)), 3)
    ) AS score_ci_low,
    multiIf(
        survey = 'nps', round(least(100, 100 * ((promoters - detractors) / responses
            + z * sqrt(greatest((promoters + detractors) / responses
                - pow((promoters - detractors) / responses, 2), 0) / responses))), 2),
        survey = 'csat', round(100 * least(1, ((satisfied / responses + z * z / (2 * responses))
            + z * sqrt(satisfied / responses * (1 - satisfied / responses) / responses
                + z * z / (4 * responses * responses))) / (1 + z * z / responses)), 2),
        round(least(7, ces_sum / responses
            + z * sqrt(greatest(ces_sum_squares / responses - pow(ces_sum / responses, 2), 0)
                / responses)), 3)
    ) AS score_ci_high,
    promoters, passives, detractors, satisfied, ces_sum, ces_sum_squares, ces_easy
FROM
(
    SELECT
        b2b_account_id AS account_id,
        toDate(occurred_at) AS day,
        channel,
        survey,
        count() AS responses,
        countIf(survey = 'nps' AND score >= 9) AS promoters,
        countIf(survey = 'nps' AND score >= 7 AND score <= 8) AS passives,
        countIf(survey = 'nps' AND score <= 6) AS detractors,
        countIf(survey = 'csat' AND score >= 4) AS satisfied,
        toUInt64(sumIf(assumeNotNull(score), survey = 'ces')) AS ces_sum,
        toUInt64(sumIf(assumeNotNull(score) * assumeNotNull(score), survey = 'ces')) AS ces_sum_squares,
        countIf(survey = 'ces' AND score >= 5) AS ces_easy
    FROM {database:Identifier}.touchpoints
    WHERE event_type = 'survey_response' AND b2b_account_id != '' AND score IS NOT NULL
    GROUP BY account_id, day, channel, survey
);

-- One row per account, over every touchpoint kept (people active: the last
-- 30 days; churn risk: the people of the account churn_risk scores, whose
-- journeys were active in the last 90 days). The account's own risk is the
-- mean risk_score of its scored people, levelled as a person's is: high at
-- 5 or more, medium at 2 or more, else low.
CREATE VIEW IF NOT EXISTS {database:Identifier}.account_summary AS
WITH 1.959963984540054 AS z
SELECT
    t.account_id AS account_id,
    t.people AS people,
    t.active_people_30d AS active_people_30d,
    t.first_seen AS first_seen,
    t.last_seen AS last_seen,
    t.touchpoints AS touchpoints,
    t.purchases AS purchases,
    CAST(t.revenue AS Map(String, Decimal(38, 4))) AS revenue,
    t.nps_responses AS nps_responses,
    if(t.nps_responses = 0, NULL,
       round(100 * (t.nps_promoters - t.nps_detractors) / t.nps_responses, 2)) AS nps,
    if(t.nps_responses = 0, NULL, round(greatest(-100, 100 * (
        (t.nps_promoters - t.nps_detractors) / t.nps_responses
        - z * sqrt(greatest((t.nps_promoters + t.nps_detractors) / t.nps_responses
            - pow((t.nps_promoters - t.nps_detractors) / t.nps_responses, 2), 0)
            / t.nps_responses))), 2)) AS nps_ci_low,
    if(t.nps_responses = 0, NULL, round(least(100, 100 * (
        (t.nps_promoters - t.nps_detractors) / t.nps_responses
        + z * sqrt(greatest((t.nps_promoters + t.nps_detractors) / t.nps_responses
            - pow((t.nps_promoters - t.nps_detractors) / t.nps_responses, 2), 0)
            / t.nps_responses))), 2)) AS nps_ci_high,
    t.csat_responses AS csat_responses,
    if(t.csat_responses = 0, NULL, round(100 * t.csat_satisfied / t.csat_responses, 2)) AS csat,
    if(t.csat_responses = 0, NULL, round(100 * greatest(0, (
        (t.csat_satisfied / t.csat_responses + z * z / (2 * t.csat_responses))
        - z * sqrt(t.csat_satisfied / t.csat_responses * (1 - t.csat_satisfied / t.csat_responses)
            / t.csat_responses + z * z / (4 * t.csat_responses * t.csat_responses)))
        / (1 + z * z / t.csat_responses)), 2)) AS csat_ci_low,
    if(t.csat_responses = 0, NULL, round(100 * least(1, (
        (t.csat_satisfied / t.csat_responses + z * z / (2 * t.csat_responses))
        + z * sqrt(t.csat_satisfied / t.csat_responses * (1 - t.csat_satisfied / t.csat_responses)
            / t.csat_responses + z * z / (4 * t.csat_responses * t.csat_responses)))
        / (1 + z * z / t.csat_responses)), 2)) AS csat_ci_high,
    t.ces_responses AS ces_responses,
    if(t.ces_responses = 0, NULL, round(t.ces_sum / t.ces_responses, 3)) AS ces,
    if(t.ces_responses = 0, NULL, round(greatest(1, t.ces_sum / t.ces_responses
        - z * sqrt(greatest(t.ces_sum_squares / t.ces_responses - pow(t.ces_sum / t.ces_responses, 2), 0)
            / t.ces_responses)), 3)) AS ces_ci_low,
    if(t.ces_responses = 0, NULL, round(least(7, t.ces_sum / t.ces_responses
        + z * sqrt(greatest(t.ces_sum_squares / t.ces_responses - pow(t.ces_sum / t.ces_responses, 2), 0)
            / t.ces_responses)), 3)) AS ces_ci_high,
    ifNull(s.support_contacts, 0) AS support_contacts,
    ifNull(s.open_support_contacts, 0) AS open_support_contacts,
    ifNull(s.slow_support_contacts, 0) AS slow_support_contacts,
    ifNull(r.people_scored, 0) AS people_scored,
    ifNull(r.people_high_risk, 0) AS people_high_risk,
    ifNull(r.people_medium_risk, 0) AS people_medium_risk,
    if(people_scored = 0, NULL, round(100 * people_high_risk / people_scored, 2)) AS high_risk_share_pct,
    if(people_scored = 0, NULL, round(r.risk_score_sum / people_scored, 2)) AS account_risk_score,
    multiIf(people_scored = 0, '', account_risk_score >= 5, 'high', account_risk_score >= 2, 'medium', 'low') AS account_risk
FROM
(
    SELECT
        b2b_account_id AS account_id,
        uniqExact(customer_key) AS people,
        uniqExactIf(customer_key, occurred_at >= now('UTC') - INTERVAL 30 DAY) AS active_people_30d,
        min(occurred_at) AS first_seen,
        max(occurred_at) AS last_seen,
        count() AS touchpoints,
        countIf(event_type IN ('purchase', 'pos_purchase')) AS purchases,
        sumMapIf(map(currency, toDecimal128(assumeNotNull(revenue), 4)),
                 event_type IN ('purchase', 'pos_purchase') AND revenue IS NOT NULL) AS revenue,
        countIf(survey = 'nps' AND score IS NOT NULL) AS nps_responses,
        countIf(survey = 'nps' AND score >= 9) AS nps_promoters,
        countIf(survey = 'nps' AND score <= 6) AS nps_detractors,
        countIf(survey = 'csat' AND score IS NOT NULL) AS csat_responses,
        countIf(survey = 'csat' AND score >= 4) AS csat_satisfied,
        countIf(survey = 'ces' AND score IS NOT NULL) AS ces_responses,
        toUInt64(sumIf(assumeNotNull(score), survey = 'ces' AND score IS NOT NULL)) AS ces_sum,
        toUInt64(sumIf(assumeNotNull(score) * assumeNotNull(score), survey = 'ces' AND score IS NOT NULL)) AS ces_sum_squares
    FROM {database:Identifier}.customer_touchpoints
    WHERE b2b_account_id != ''
    GROUP BY account_id
) AS t
LEFT JOIN
(
    -- A contact follows the account of the touchpoint that opened it (the
    -- first, if it was opened twice); slow: first answer after 2 hours, the
    -- journeys' slow_support rule.
    SELECT
        o.account_id AS account_id,
        count() AS support_contacts,
        countIf(c.state = 'open') AS open_support_contacts,
        countIf(c.first_answer_ms > 7200000) AS slow_support_contacts
    FROM {database:Identifier}.support_contacts AS c
    INNER JOIN
    (
        SELECT customer_key, contact_id, argMin(b2b_account_id, occurred_at) AS account_id
        FROM {database:Identifier}.customer_touchpoints
        WHERE event_type = 'support_contact_opened' AND b2b_account_id != '' AND contact_id != ''
        GROUP BY customer_key, contact_id
    ) AS o ON o.customer_key = c.customer_key AND o.contact_id = c.contact_id
    GROUP BY account_id
) AS s ON s.account_id = t.account_id
LEFT JOIN
(
    SELECT
        p.account_id AS account_id,
        count() AS people_scored,
        countIf(k.risk = 'high') AS people_high_risk,
        countIf(k.risk = 'medium') AS people_medium_risk,
        sum(k.risk_score) AS risk_score_sum
    FROM {database:Identifier}.account_people AS p
    INNER JOIN {database:Identifier}.churn_risk AS k ON k.customer_key = p.customer_key
    GROUP BY account_id
) AS r ON r.account_id = t.account_id;

-- BI users read these with the rights of their creator (007_bi_views.sql).
ALTER TABLE {database:Identifier}.account_people MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.account_scores_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.account_summary MODIFY SQL SECURITY DEFINER;
