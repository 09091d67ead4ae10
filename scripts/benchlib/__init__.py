"""Shared pieces of the benchmarks in scripts/ (never imported by the server or the tests)."""
