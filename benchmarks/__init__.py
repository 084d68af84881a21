"""Benchmarks: executions per second of the local runner against baselines (see README.md)."""
