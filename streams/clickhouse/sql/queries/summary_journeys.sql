-- Journeys, conversion, and conversion across channels.
SELECT
    count() AS all_journeys,
    countIf(j.converted = 1) AS converted_journeys,
    countIf(j.converted = 1 AND length(j.channels) > 1) AS converted_across_channels,
    round(avg(length(j.channels)), 2) AS channels_per_journey,
    round(quantileExactIf(j.time_to_purchase_ms, j.converted = 1) / 60000, 1) AS median_minutes_to_purchase
FROM {database:Identifier}.current_journeys AS j
