-- Headline figures for the summary.
SELECT
    (SELECT count() FROM {database:Identifier}.touchpoints) AS touchpoints,
    (SELECT uniqExact(event_id) FROM {database:Identifier}.touchpoints) AS unique_event_ids,
    (SELECT count() FROM {database:Identifier}.deadletters) AS dead_letters,
    (SELECT countIf(survey != '') FROM {database:Identifier}.touchpoints) AS survey_responses
