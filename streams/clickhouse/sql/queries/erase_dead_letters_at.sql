-- Dead letters at these positions of the dead-letter topic, found to be the
-- person's by reading the original records there. Counted, then deleted
-- with the same condition.
SELECT count() FROM {database:Identifier}.deadletters
WHERE (deadletter_partition, deadletter_offset) IN {positions:Array(Tuple(UInt32, UInt64))};

DELETE FROM {database:Identifier}.deadletters
WHERE (deadletter_partition, deadletter_offset) IN {positions:Array(Tuple(UInt32, UInt64))}
SETTINGS lightweight_deletes_sync = 2
