-- Rows of the table are kept forever.
ALTER TABLE {database:Identifier}.{table:Identifier} REMOVE TTL
