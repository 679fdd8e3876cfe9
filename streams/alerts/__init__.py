"""Alerting on metric drops: rules, the statistics that keep small samples
quiet, and alert episodes (pure); `stage` evaluates them on a timer and
delivers what fires."""
