-- Headline figures for the demo summary.
SELECT
    (SELECT count() FROM {database:Identifier}.touchpoints) AS touchpoints,
    (SELECT uniqExact(event_id) FROM {database:Identifier}.touchpoints) AS unique_event_ids,
    (SELECT count() FROM {database:Identifier}.deadletters) AS dead_letters,
    (SELECT sum(revenue) FROM {database:Identifier}.touchpoints) AS revenue,
    (SELECT countIf(survey != '') FROM {database:Identifier}.touchpoints) AS survey_responses
