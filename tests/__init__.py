"""The test suite. A package, so every test imports shared code as `tests.helpers.<module>` (pytest runs
with `--import-mode=importlib` and the repository root on `pythonpath`; no test edits the import path)."""
