"""Where things are, from any test folder: no `Path(__file__).parents[n]` to keep in step with moves."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"  # the shipped configs (a link to emerge/configs)
MIMIC_IV_DEMO = REPO / "tests" / "fixtures" / "mimic_iv_demo"  # committed trim of the real MIMIC-IV demo
DREHR_FIXTURES = REPO / "tests" / "drehr" / "fixtures"  # CliniQ / BEIR samples for the evaluation readers
