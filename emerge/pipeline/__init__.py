"""Orchestration: the stages wired together (demo, experiments, derived benchmarks)."""
