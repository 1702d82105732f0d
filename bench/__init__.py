"""Benchmarks (run each script directly; see README.md)."""
