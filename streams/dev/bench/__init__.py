"""Benchmarks run by `cx bench`: each prints figures and writes JSON."""
