-- The person's touchpoints: keyed or stitched to any of their identifiers,
-- or carrying one (the identifier columns hold values without the kind).
-- Counted by month (erased_touchpoints keeps those counts, so the metrics
-- check at start knows why metrics_minute counts more), then deleted with
-- the same condition.
SELECT toYYYYMM(occurred_at) AS month, count() FROM {database:Identifier}.touchpoints
WHERE person_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR customer_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'customer_id')
   OR loyalty_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'loyalty_id')
   OR phone_hash IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'phone_hash')
   OR email_hash IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'email_hash')
   OR anonymous_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'anonymous_id')
GROUP BY month;

DELETE FROM {database:Identifier}.touchpoints
WHERE person_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR customer_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'customer_id')
   OR loyalty_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'loyalty_id')
   OR phone_hash IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'phone_hash')
   OR email_hash IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'email_hash')
   OR anonymous_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'anonymous_id')
SETTINGS lightweight_deletes_sync = 2
