"""Alerting on metric drops: rules, the statistics that keep small samples
quiet, and alert episodes (pure); the worker's glue lives in pipeline/."""
