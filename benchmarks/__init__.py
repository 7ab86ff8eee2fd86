"""Benchmarks: scripts that print one table each (``python -m benchmarks.<name>``). Not tests."""
