-- Dead letters hold no identifier (the original record stays on the
-- dead-letter topic): those of an event of the person that is also stored
-- as a touchpoint (a later stage's rejection) are matched by event id. Run
-- before erase_touchpoints. Counted, then deleted with the same condition.
SELECT count() FROM {database:Identifier}.deadletters
WHERE event_id != '' AND event_id IN (
    SELECT event_id FROM {database:Identifier}.touchpoints
    WHERE person_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
       OR customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
       OR customer_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'customer_id')
       OR loyalty_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'loyalty_id')
       OR phone_hash IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'phone_hash')
       OR email_hash IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'email_hash')
       OR anonymous_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'anonymous_id')
);

DELETE FROM {database:Identifier}.deadletters
WHERE event_id != '' AND event_id IN (
    SELECT event_id FROM {database:Identifier}.touchpoints
    WHERE person_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
       OR customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
       OR customer_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'customer_id')
       OR loyalty_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'loyalty_id')
       OR phone_hash IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'phone_hash')
       OR email_hash IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'email_hash')
       OR anonymous_id IN (SELECT value FROM {database:Identifier}.{terms:Identifier} WHERE kind = 'anonymous_id')
)
SETTINGS lightweight_deletes_sync = 2
