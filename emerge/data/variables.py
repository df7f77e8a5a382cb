"""The 17 clinical variables of the MIMIC-III benchmark (Harutyunyan et al. 2019), as EMERGE uses them.

One `Variable` per clinical concept: where it is charted (MIMIC-IV / MIMIC-III MetaVision itemids,
MIMIC-III CareVue itemids, lab itemids), how raw values are converted to one unit, which range is
physiologically possible (values outside are dropped as charting errors), and, for the 5
categorical variables, the benchmark's one-hot categories (47 columns in all) and the mapping of
raw chart text to them.

This module is data, not logic: the readers (`emerge.data.timeseries`) and the synthetic cohort
(`emerge.data.synth`) both read it, so they cannot disagree about an itemid or a unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Variable",
    "VARIABLES",
    "NUMERIC_VARIABLES",
    "CATEGORICAL_VARIABLES",
    "variable",
    "itemid_to_variable",
    "BENCHMARK_CATEGORIES",
    "ONE_HOT_WIDTH",
]


@dataclass(frozen=True)
class Variable:
    """One benchmark variable.

    Attributes:
        name: snake_case column name used in our parquet files.
        label: the benchmark's human-readable name (also used for entity phrases).
        kind: "numeric" or "categorical".
        unit: the unit all values are converted to.
        chart_itemids: itemids in chartevents (MIMIC-IV == MIMIC-III MetaVision, plus CareVue).
        lab_itemids: itemids in labevents (hosp/labevents in IV, LABEVENTS in III).
        valid_range: (low, high) physiologically possible values after unit conversion.
        fahrenheit_itemids / pound_itemids / ounce_itemids / inch_itemids: itemids whose values need
            converting to the variable's unit.
    """

    name: str
    label: str
    kind: Literal["numeric", "categorical"]
    unit: str
    chart_itemids: tuple[int, ...]
    lab_itemids: tuple[int, ...] = ()
    valid_range: tuple[float, float] | None = None
    fahrenheit_itemids: tuple[int, ...] = ()
    pound_itemids: tuple[int, ...] = ()
    ounce_itemids: tuple[int, ...] = ()
    inch_itemids: tuple[int, ...] = ()
    # For categorical variables: raw chart text (lower-cased, stripped) -> benchmark category.
    text_map: dict[str, str] = field(default_factory=dict)

    @property
    def itemids(self) -> tuple[int, ...]:
        return self.chart_itemids + self.lab_itemids


# The benchmark's discretizer categories, in its order (2 + 8 + 12 + 13 + 12 = 47 one-hot columns).
BENCHMARK_CATEGORIES: dict[str, tuple[str, ...]] = {
    "capillary_refill": ("0.0", "1.0"),
    "gcs_eye": (
        "To Pain",
        "3 To speech",
        "1 No Response",
        "4 Spontaneously",
        "None",
        "To Speech",
        "Spontaneously",
        "2 To pain",
    ),
    "gcs_motor": (
        "1 No Response",
        "3 Abnorm flexion",
        "Abnormal extension",
        "No response",
        "4 Flex-withdraws",
        "Localizes Pain",
        "Flex-withdraws",
        "Obeys Commands",
        "Abnormal Flexion",
        "6 Obeys Commands",
        "5 Localizes Pain",
        "2 Abnorm extensn",
    ),
    "gcs_total": ("11", "10", "13", "12", "15", "14", "3", "5", "4", "7", "6", "9", "8"),
    "gcs_verbal": (
        "1 No Response",
        "No Response",
        "Confused",
        "Inappropriate Words",
        "Oriented",
        "No Response-ETT",
        "5 Oriented",
        "Incomprehensible sounds",
        "1.0 ET/Trach",
        "4 Confused",
        "2 Incomp sounds",
        "3 Inapprop words",
    ),
}
ONE_HOT_WIDTH = sum(len(v) for v in BENCHMARK_CATEGORIES.values())  # 47


def _identity_map(name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Each benchmark category maps to itself (case-insensitive), plus extra spellings."""
    out = {c.lower(): c for c in BENCHMARK_CATEGORIES[name]}
    out.update({k.lower(): v for k, v in (extra or {}).items()})
    return out


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "capillary_refill",
        "Capillary refill rate",
        "categorical",
        "",
        (3348, 115, 8377, 224308, 223951),
        text_map=_identity_map(
            "capillary_refill",
            {
                "normal <3 seconds": "0.0",
                "normal <3 secs": "0.0",
                "brisk": "0.0",
                "0": "0.0",
                "abnormal >3 seconds": "1.0",
                "abnormal >3 secs": "1.0",
                "delayed": "1.0",
                "1": "1.0",
            },
        ),
    ),
    Variable(
        "diastolic_bp",
        "Diastolic blood pressure",
        "numeric",
        "mmHg",
        (8368, 220051, 225310, 8555, 8441, 220180, 8502, 8440, 8503, 8504, 8507, 8506, 224643),
        valid_range=(0, 375),
    ),
    Variable(
        "fio2",
        "Fraction inspired oxygen",
        "numeric",
        "fraction",
        (3420, 223835, 3422, 189, 727),
        lab_itemids=(50816,),
        valid_range=(0.2, 1.0),
    ),
    Variable(
        "gcs_eye",
        "Glascow coma scale eye opening",
        "categorical",
        "",
        (184, 220739),
        text_map=_identity_map(
            "gcs_eye", {"4": "Spontaneously", "3": "To Speech", "2": "To Pain", "1": "None"}
        ),
    ),
    Variable(
        "gcs_motor",
        "Glascow coma scale motor response",
        "categorical",
        "",
        (454, 223901),
        text_map=_identity_map(
            "gcs_motor",
            {
                "6": "Obeys Commands",
                "5": "Localizes Pain",
                "4": "Flex-withdraws",
                "3": "Abnormal Flexion",
                "2": "Abnormal extension",
                "1": "No response",
            },
        ),
    ),
    Variable(
        "gcs_total",
        "Glascow coma scale total",
        "categorical",
        "",
        (198,),
        text_map=_identity_map("gcs_total"),
    ),
    Variable(
        "gcs_verbal",
        "Glascow coma scale verbal response",
        "categorical",
        "",
        (723, 223900),
        text_map=_identity_map(
            "gcs_verbal",
            {
                "5": "Oriented",
                "4": "Confused",
                "3": "Inappropriate Words",
                "2": "Incomprehensible sounds",
                "1": "No Response",
            },
        ),
    ),
    Variable(
        "glucose",
        "Glucose",
        "numeric",
        "mg/dL",
        (807, 811, 1529, 3745, 3744, 225664, 220621, 226537),
        lab_itemids=(50931, 50809),
        valid_range=(0, 2200),
    ),
    Variable("heart_rate", "Heart Rate", "numeric", "bpm", (211, 220045), valid_range=(0, 350)),
    Variable(
        "height",
        "Height",
        "numeric",
        "cm",
        (226707, 226730, 1394),
        valid_range=(0, 275),
        inch_itemids=(226707, 1394),
    ),
    Variable(
        "mean_bp",
        "Mean blood pressure",
        "numeric",
        "mmHg",
        (52, 220052, 225312, 224, 6702, 224322, 456, 220181, 3312, 3314, 3316, 3322, 3320),
        valid_range=(0, 375),
    ),
    Variable(
        "spo2", "Oxygen saturation", "numeric", "%", (646, 220277), lab_itemids=(50817,), valid_range=(0, 100)
    ),
    Variable(
        "respiratory_rate",
        "Respiratory rate",
        "numeric",
        "insp/min",
        (618, 220210, 3603, 224689, 614, 651, 224422, 615, 224690, 619),
        valid_range=(0, 330),
    ),
    Variable(
        "systolic_bp",
        "Systolic blood pressure",
        "numeric",
        "mmHg",
        (51, 442, 455, 6701, 220179, 220050, 3313, 3315, 3317, 3321, 3323, 224167, 227243, 225309),
        valid_range=(0, 375),
    ),
    Variable(
        "temperature",
        "Temperature",
        "numeric",
        "C",
        (223761, 678, 676, 223762, 677, 679),
        valid_range=(14.2, 47),
        fahrenheit_itemids=(223761, 678, 679),
    ),
    Variable(
        "weight",
        "Weight",
        "numeric",
        "kg",
        (763, 224639, 226512, 3580, 3693, 3581, 226531, 3582),
        valid_range=(0, 250),
        pound_itemids=(226531, 3581),
        ounce_itemids=(3582,),
    ),
    Variable(
        "ph",
        "pH",
        "numeric",
        "",
        (780, 1126, 223830, 4753, 4202, 860, 220274),
        lab_itemids=(50820,),
        valid_range=(6.3, 8.4),
    ),
)

NUMERIC_VARIABLES = tuple(v for v in VARIABLES if v.kind == "numeric")
CATEGORICAL_VARIABLES = tuple(v for v in VARIABLES if v.kind == "categorical")
_BY_NAME = {v.name: v for v in VARIABLES}


def variable(name: str) -> Variable:
    """Look a variable up by its snake_case name; the error lists the valid names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown variable {name!r}; valid: {sorted(_BY_NAME)}") from None


def itemid_to_variable() -> dict[int, str]:
    """itemid -> variable name, over chart and lab itemids. Raises if an itemid is claimed twice."""
    out: dict[int, str] = {}
    for v in VARIABLES:
        for item in v.itemids:
            if item in out:
                raise ValueError(f"itemid {item} is mapped to both {out[item]!r} and {v.name!r}")
            out[item] = v.name
    return out
