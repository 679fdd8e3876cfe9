-- Purchases and revenue per currency.
SELECT currency, count() AS purchases, sum(revenue) AS revenue
FROM {database:Identifier}.touchpoints
WHERE event_type IN ('purchase', 'pos_purchase')
GROUP BY currency
ORDER BY purchases DESC
