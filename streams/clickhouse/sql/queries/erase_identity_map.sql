-- Every row of the person's identifiers, and every identifier mapped to
-- them. Counted, then deleted with the same condition.
SELECT count() FROM {database:Identifier}.identity_map
WHERE identifier IN (SELECT term FROM {database:Identifier}.{terms:Identifier}) OR customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier});

DELETE FROM {database:Identifier}.identity_map
WHERE identifier IN (SELECT term FROM {database:Identifier}.{terms:Identifier}) OR customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
SETTINGS lightweight_deletes_sync = 2
