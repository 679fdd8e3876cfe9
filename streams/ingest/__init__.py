"""Stage 1, ingest: channel records in; touchpoints (as store rows and
journey steps) and dead letters out. `route` is the pure core, `stage` its
Kafka side."""
