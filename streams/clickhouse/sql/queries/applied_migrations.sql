-- Applied migrations and the checksum each was applied with.
SELECT version, argMax(checksum, applied_at)
FROM {database:Identifier}.schema_migrations
GROUP BY version
