"""Benchmark scripts (`python benchmarks/<name>.py`) and the libraries behind them.

A package only so that tests can import the libraries (`benchmarks.stage1_synthetic`); pytest puts
the repository root on the path (`pythonpath` in pyproject.toml). Nothing in kg, drehr or emerge
imports from here.
"""
