DROP TABLE IF EXISTS {database:Identifier}.{terms:Identifier} SYNC
