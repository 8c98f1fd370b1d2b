"""Benchmarks: figures and ratios, printed; never pass/fail (machines here are shared)."""
