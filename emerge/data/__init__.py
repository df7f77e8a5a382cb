"""EHR data: the 17 benchmark variables, the synthetic cohort in MIMIC-IV layout, and the
MIMIC-III/IV readers that build cohorts, labels, hourly time series and notes."""
