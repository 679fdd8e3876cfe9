-- The person's touchpoints: keyed or stitched to any of their identifiers,
-- or carrying one (the identifier columns hold values without the kind).
-- The condition only: streams/erasure/store.py counts (by month: metrics
-- keep those counts, erased_touchpoints says how many) and deletes with it.
person_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR customer_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'customer_id')
   OR loyalty_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'loyalty_id')
   OR phone_hash IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'phone_hash')
   OR email_hash IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'email_hash')
   OR anonymous_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'anonymous_id')
