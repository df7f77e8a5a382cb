"""A synthetic ICU cohort in MIMIC-IV 2.2's layout, driven by latent conditions (no real patients).

`generate(out, stays, seed)` writes hosp/, icu/ and note/ gzipped CSVs with MIMIC-IV's file names,
columns and formats, plus ground truth under `out/truth/` (conditions per stay, every condition
mention in the notes, labels) and `out/SYNTHETIC.md`. See docs/synth.md.
"""

from emerge.data.synth.generate import SynthSummary, generate
from emerge.data.synth.schema import SCHEMAS

__all__ = ["generate", "SynthSummary", "SCHEMAS"]
