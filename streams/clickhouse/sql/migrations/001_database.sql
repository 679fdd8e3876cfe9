-- The database and the ledger of applied migrations.
CREATE DATABASE IF NOT EXISTS {database:Identifier};

CREATE TABLE IF NOT EXISTS {database:Identifier}.schema_migrations
(
    version     UInt32,
    name        String,
    checksum    String,
    applied_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version;
