"""Seeded, reproducible synthetic omnichannel traffic that knows its own truth:
the person behind every identifier, and which records are invalid (and why)
or duplicates."""

from streams.dev.generator.traffic import GeneratedRecord, TrafficSpec, Truth, generate_traffic

__all__ = ["GeneratedRecord", "TrafficSpec", "Truth", "generate_traffic"]
