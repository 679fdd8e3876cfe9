"""What the commands read back from ClickHouse for people: one person's
history (`person`), the current scores (`metrics`), a run's summary."""
