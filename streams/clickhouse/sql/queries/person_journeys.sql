-- A person's journeys, latest version of each, oldest first.
SELECT
    journey_id,
    toUnixTimestamp64Milli(started_at) AS started_at_ms,
    toUnixTimestamp64Milli(last_at) AS last_at_ms,
    ended,
    touchpoints,
    stages,
    arrayMap(t -> toUnixTimestamp64Milli(t), stage_reached_at) AS stage_reached_at_ms,
    stage_channels,
    channels,
    channel_switches,
    converted,
    purchase_channel,
    time_to_purchase_ms,
    purchases,
    mapApply((k, v) -> (k, toFloat64(v)), revenue) AS revenue,
    support,
    surveys,
    thank_you_sent,
    reminder_sent,
    survey_sent,
    follow_up_answered,
    pain_points
FROM {database:Identifier}.journeys FINAL
WHERE customer_key = {key:String}
ORDER BY started_at
