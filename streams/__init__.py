"""The stream processor: ingest and store pipelines hosted in a faust app,
the ClickHouse store, the traffic generator and the `cx` command."""
