"""The item dictionaries (icu/d_items, hosp/d_labitems) for every itemid the cohort writes.

Labels, categories and units are copied from MIMIC-IV 2.2's own d_items / d_labitems rows. The
itemids of the 17 benchmark variables come from `emerge.data.variables` (checked at import by
`check_against_variables`), so the synthetic data and the readers cannot disagree.
"""

from __future__ import annotations

import polars as pl

from emerge.data.synth.schema import SCHEMAS
from emerge.data.variables import itemid_to_variable

__all__ = [
    "CHART_ITEMS",
    "LAB_ITEMS",
    "OTHER_CHART_ITEMIDS",
    "d_items",
    "d_labitems",
    "check_against_variables",
]

# itemid -> (label, abbreviation, category, unitname, param_type)
CHART_ITEMS: dict[int, tuple[str, str, str, str | None, str]] = {
    220045: ("Heart Rate", "HR", "Routine Vital Signs", "bpm", "Numeric"),
    220179: ("Non Invasive Blood Pressure systolic", "NBPs", "Routine Vital Signs", "mmHg", "Numeric"),
    220180: ("Non Invasive Blood Pressure diastolic", "NBPd", "Routine Vital Signs", "mmHg", "Numeric"),
    220181: ("Non Invasive Blood Pressure mean", "NBPm", "Routine Vital Signs", "mmHg", "Numeric"),
    220050: ("Arterial Blood Pressure systolic", "ABPs", "Routine Vital Signs", "mmHg", "Numeric"),
    220051: ("Arterial Blood Pressure diastolic", "ABPd", "Routine Vital Signs", "mmHg", "Numeric"),
    220052: ("Arterial Blood Pressure mean", "ABPm", "Routine Vital Signs", "mmHg", "Numeric"),
    220210: ("Respiratory Rate", "RR", "Respiratory", "insp/min", "Numeric"),
    220277: ("O2 saturation pulseoxymetry", "SpO2", "Respiratory", "%", "Numeric"),
    223835: ("Inspired O2 Fraction", "FiO2", "Respiratory", None, "Numeric"),
    223761: ("Temperature Fahrenheit", "Temperature F", "Routine Vital Signs", "°F", "Numeric"),
    223762: ("Temperature Celsius", "Temperature C", "Routine Vital Signs", "°C", "Numeric"),
    220739: ("GCS - Eye Opening", "Eye Opening", "Neurological", None, "Text"),
    223900: ("GCS - Verbal Response", "Verbal Response", "Neurological", None, "Text"),
    223901: ("GCS - Motor Response", "Motor Response", "Neurological", None, "Text"),
    223951: ("Capillary Refill R", "Capillary Refill R", "Cardiovascular (Pulses)", None, "Text"),
    224308: ("Capillary Refill L", "Capillary Refill L", "Cardiovascular (Pulses)", None, "Text"),
    225664: ("Glucose finger stick (range 70-100)", "Glucose FS (range 70 -100)", "Labs", None, "Numeric"),
    220621: ("Glucose (serum)", "Glucose (serum)", "Labs", None, "Numeric"),
    223830: ("PH (Arterial)", "PH (Arterial)", "Labs", None, "Numeric"),
    226730: ("Height (cm)", "Height (cm)", "General", "cm", "Numeric"),
    226707: ("Height", "Height", "General", "Inch", "Numeric"),
    226512: ("Admission Weight (Kg)", "Admission Weight (Kg)", "General", "kg", "Numeric"),
    226531: ("Admission Weight (lbs.)", "Admission Weight (lbs.)", "General", None, "Numeric"),
    224639: ("Daily Weight", "Daily Weight", "General", "kg", "Numeric"),
    # Not among the 17 benchmark variables (real chartevents holds thousands of such itemids).
    220048: ("Heart Rhythm", "Heart Rhythm", "Routine Vital Signs", None, "Text"),
    223758: ("Code Status", "Code Status", "General", None, "Text"),
    228096: ("Richmond-RAS Scale", "Richmond-RAS Scale", "Pain/Sedation", None, "Text"),
    220339: ("PEEP set", "PEEP set", "Respiratory", "cmH2O", "Numeric"),
    224684: ("Tidal Volume (set)", "Tidal Volume (set)", "Respiratory", "mL", "Numeric"),
}
OTHER_CHART_ITEMIDS = (220048, 223758, 228096, 220339, 224684)

# itemid -> (label, fluid, category, unit, ref_low, ref_high)
LAB_ITEMS: dict[int, tuple[str, str, str, str, float, float]] = {
    50931: ("Glucose", "Blood", "Chemistry", "mg/dL", 70, 100),
    50820: ("pH", "Blood", "Blood Gas", "units", 7.35, 7.45),
    50813: ("Lactate", "Blood", "Blood Gas", "mmol/L", 0.5, 2),
    50912: ("Creatinine", "Blood", "Chemistry", "mg/dL", 0.5, 1.2),
    50971: ("Potassium", "Blood", "Chemistry", "mEq/L", 3.3, 5.1),
    50983: ("Sodium", "Blood", "Chemistry", "mEq/L", 133, 145),
    51006: ("Urea Nitrogen", "Blood", "Chemistry", "mg/dL", 6, 20),
    50882: ("Bicarbonate", "Blood", "Chemistry", "mEq/L", 22, 32),
    50885: ("Bilirubin, Total", "Blood", "Chemistry", "mg/dL", 0, 1.5),
    51003: ("Troponin T", "Blood", "Chemistry", "ng/mL", 0, 0.01),
    51301: ("White Blood Cells", "Blood", "Hematology", "K/uL", 4, 11),
    51222: ("Hemoglobin", "Blood", "Hematology", "g/dL", 13.7, 17.5),
    51265: ("Platelet Count", "Blood", "Hematology", "K/uL", 150, 440),
    51237: ("INR(PT)", "Blood", "Hematology", "", 0.9, 1.1),
}


def check_against_variables() -> None:
    """Raise if a chart or lab itemid we write as a benchmark variable is unknown to variables.py,
    or if an 'other' itemid is claimed by a benchmark variable."""
    known = itemid_to_variable()
    for item in list(CHART_ITEMS) + [50931, 50820]:
        if item in OTHER_CHART_ITEMIDS:
            if item in known:
                raise ValueError(f"itemid {item} is meant as a non-benchmark item but variables.py maps it")
        elif item not in known:
            raise ValueError(f"itemid {item} is written as a benchmark variable but variables.py lacks it")


def d_items() -> pl.DataFrame:
    """icu/d_items rows for every chart itemid the cohort writes."""
    rows = [
        (i, lab, ab, "chartevents", cat, unit, pt, None, None)
        for i, (lab, ab, cat, unit, pt) in CHART_ITEMS.items()
    ]
    return pl.DataFrame(rows, schema=SCHEMAS["icu/d_items"], orient="row")


def d_labitems() -> pl.DataFrame:
    """hosp/d_labitems rows for every lab itemid the cohort writes."""
    rows = [(i, lab, fluid, cat) for i, (lab, fluid, cat, *_rest) in LAB_ITEMS.items()]
    return pl.DataFrame(rows, schema=SCHEMAS["hosp/d_labitems"], orient="row")
