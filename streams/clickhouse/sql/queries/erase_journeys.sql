-- Every version of the person's journeys. Counted, then deleted with the
-- same condition.
SELECT count() FROM {database:Identifier}.journeys
WHERE customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier});

DELETE FROM {database:Identifier}.journeys
WHERE customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
SETTINGS lightweight_deletes_sync = 2
