"""The worker's machinery, shared by every stage: the faust app and the
processor that wires the stages, the batch consumer loop, Kafka clients and
topics, settings, retries, the failure budget and GC tuning."""
