-- People after stitching, and the identifiers behind them.
SELECT
    uniqExact(customer_key) AS people,
    uniqExact(person_key) AS identifiers_on_events,
    uniqExactIf(customer_key, customer_key LIKE 'customer_id:%') AS with_account,
    uniqExactIf(customer_key, customer_key LIKE 'anonymous_id:%') AS anonymous_only
FROM {database:Identifier}.customer_touchpoints
