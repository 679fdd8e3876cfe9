"""The store stage: touchpoint rows into ClickHouse `touchpoints`, each event
id once (`dedup`), and the journey steps of the events stored now on to the
journey stage. `rows` defines the table's rows, `stage` is the Kafka side."""
