"""Benchmarks: ``python -m bench.harness`` (see bench/NOTES.md)."""
