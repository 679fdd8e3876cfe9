"""The aggregate store: ClickHouse through clickhouse-connect (embedded chdb or
a server), its schema, and the sinks that write to it idempotently."""
