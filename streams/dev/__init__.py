"""Development tooling, not part of the worker image: the local broker, the
traffic generator, the demo, the benchmarks, a child worker to drive."""
