"""Benchmarks: every figure is printed beside a baseline measured in the same run (the machine is shared)."""
