"""ClickHouse through clickhouse-connect (embedded chdb or a server): the
client, the schema and its migrations, the SQL files, and the one way every
sink writes (`sink`)."""
