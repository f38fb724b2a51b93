"""Benchmark suites behind `ainos bench`."""
