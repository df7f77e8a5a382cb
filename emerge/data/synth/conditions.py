"""The latent conditions of the synthetic cohort and everything each one drives.

A `Condition` is the single source of truth for one disease or care fact: its real ICD-10-CM
code(s), how common it is, how it moves vitals and labs, how much it adds to acute severity and to
the odds of death and readmission, and how notes talk about it (the exact name, synonyms and
abbreviations, picked at random per mention, plus a radiology finding and a hospital-course line).

Some conditions are *note-only*: they change no vital or lab (metastatic cancer, DNR, palliative
care, dementia, medication noncompliance) but change the outcome, so a model that also reads the
in-window notes can beat a time-series-only model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Condition", "CONDITIONS", "condition_index", "BACKGROUND_CODES"]

Kind = Literal["chronic", "acute", "care"]


@dataclass(frozen=True)
class Condition:
    """One latent condition.

    Attributes:
        name: lower-case canonical name; the retrieval benchmark's query and the `string` match.
        icd10: dotted ICD-10-CM codes written to diagnoses_icd (undotted there, as MIMIC-IV does).
        kind: "chronic" (per patient, kept across admissions), "acute" (per admission) or "care"
            (code status / goals of care, per admission).
        prevalence: base probability per patient (chronic) or per admission (acute, care).
        synonyms / abbreviations: other surface forms; each mention picks one form at random.
        effects: shift of a physiological signal at intensity 1 (signal names in `events.SIGNALS`).
        severity: contribution to the admission's acute severity (drives vitals and death).
        mortality / readmission: extra log-odds of in-hospital death / 30-day readmission.
        exam / finding: radiology exam and a FINDINGS sentence; `{m}` is replaced by a mention.
        course: discharge-summary hospital-course sentence; `{m}` is replaced by a mention.
    """

    name: str
    icd10: tuple[str, ...]
    kind: Kind
    prevalence: float
    synonyms: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    effects: dict[str, float] = field(default_factory=dict)
    severity: float = 0.0
    mortality: float = 0.0
    readmission: float = 0.0
    exam: str = ""
    finding: str = ""
    course: str = "{m}, managed medically."

    def __post_init__(self) -> None:
        if not 0.0 <= self.prevalence <= 1.0:
            raise ValueError(f"prevalence of {self.name!r} must be in [0, 1], got {self.prevalence}")
        if not self.icd10:
            raise ValueError(f"condition {self.name!r} needs at least one ICD-10-CM code")

    @property
    def note_only(self) -> bool:
        """True when the condition leaves no trace in vitals or labs."""
        return not self.effects


_CXR = "CHEST (PORTABLE AP)"
CONDITIONS: tuple[Condition, ...] = (
    # --- chronic: sampled once per patient ---
    Condition(
        "hypertension",
        ("I10",),
        "chronic",
        0.45,
        ("high blood pressure", "essential hypertension"),
        ("HTN",),
        {"systolic_bp": 14, "diastolic_bp": 7},
        course="{m}: home antihypertensives were held and restarted.",
    ),
    Condition(
        "type 2 diabetes mellitus",
        ("E11.9",),
        "chronic",
        0.27,
        ("diabetes mellitus type 2", "type II diabetes"),
        ("DM2", "T2DM"),
        {"glucose": 70},
        course="{m}: covered with an insulin sliding scale.",
    ),
    Condition(
        "chronic kidney disease",
        ("N18.9",),
        "chronic",
        0.15,
        ("chronic renal insufficiency",),
        ("CKD",),
        {"creatinine": 1.0, "bun": 15, "potassium": 0.3, "hemoglobin": -1.0},
        exam="RENAL U.S.",
        finding="Echogenic kidneys with cortical thinning, compatible with {m}.",
        course="{m}: creatinine at baseline at discharge; renally dosed medications.",
    ),
    Condition(
        "chronic obstructive pulmonary disease",
        ("J44.1",),
        "chronic",
        0.15,
        ("chronic obstructive lung disease",),
        ("COPD", "COPD exacerbation"),
        {"spo2": -4, "fio2": 15, "respiratory_rate": 4, "ph": -0.03},
        severity=0.4,
        readmission=0.5,
        exam=_CXR,
        finding="Hyperinflated lungs with flattened diaphragms, consistent with {m}.",
        course="{m}: treated with nebulizers, steroids and azithromycin.",
    ),
    Condition(
        "heart failure",
        ("I50.9",),
        "chronic",
        0.2,
        ("congestive heart failure", "cardiac failure"),
        ("CHF", "CHF exacerbation"),
        {"spo2": -2, "fio2": 8, "respiratory_rate": 3, "systolic_bp": -6, "weight": 8, "sodium": -2},
        severity=0.5,
        readmission=0.6,
        exam=_CXR,
        finding="Cardiomegaly with pulmonary vascular congestion, compatible with {m}.",
        course="{m}: diuresed with IV furosemide, net negative 4 L.",
    ),
    Condition(
        "atrial fibrillation",
        ("I48.91",),
        "chronic",
        0.18,
        ("auricular fibrillation",),
        ("afib", "AF"),
        {"heart_rate": 18},
        severity=0.2,
        course="{m}: rate controlled with metoprolol; anticoagulation continued.",
    ),
    Condition(
        "cirrhosis",
        ("K74.60",),
        "chronic",
        0.05,
        ("liver cirrhosis",),
        ("ESLD",),
        {"bilirubin": 3.0, "inr": 0.8, "platelets": -110, "sodium": -3, "mean_bp": -6},
        severity=0.5,
        mortality=0.4,
        readmission=0.5,
        exam="LIVER OR GALLBLADDER US",
        finding="Nodular liver contour with splenomegaly, consistent with {m}.",
        course="{m}: lactulose and rifaximin continued.",
    ),
    Condition(
        "metastatic cancer",
        ("C79.9",),
        "chronic",
        0.07,
        ("metastatic malignancy", "metastatic disease"),
        ("mets", "metastatic ca"),
        {},
        mortality=1.6,
        readmission=0.9,
        exam=_CXR,
        finding="Multiple pulmonary nodules, concerning for {m}.",
        course="{m}: oncology consulted; no further chemotherapy planned.",
    ),
    Condition(
        "dementia",
        ("F03.90",),
        "chronic",
        0.06,
        ("major neurocognitive disorder",),
        (),
        {},
        mortality=0.4,
        readmission=0.6,
        course="{m}: delirium precautions; family at bedside.",
    ),
    Condition(
        "medication noncompliance",
        ("Z91.14",),
        "chronic",
        0.08,
        ("nonadherence to medications", "poor medication adherence"),
        (),
        {},
        readmission=1.0,
        course="{m}: discussed at length with the patient and social work.",
    ),
    # --- acute: sampled per admission ---
    Condition(
        "sepsis",
        ("A41.9",),
        "acute",
        0.26,
        ("septicemia", "septic shock"),
        (),
        {
            "heart_rate": 22,
            "temperature": 1.4,
            "mean_bp": -16,
            "systolic_bp": -22,
            "diastolic_bp": -10,
            "respiratory_rate": 5,
            "wbc": 9,
            "lactate": 2.2,
            "ph": -0.05,
            "cap_refill": 0.6,
        },
        severity=1.1,
        course="{m}: started on vancomycin and cefepime, required norepinephrine for 2 days.",
    ),
    Condition(
        "pneumonia",
        ("J18.9",),
        "acute",
        0.22,
        ("lung infection", "community-acquired pneumonia"),
        ("PNA", "CAP"),
        {"temperature": 0.9, "spo2": -4, "fio2": 12, "respiratory_rate": 5, "wbc": 6},
        severity=0.6,
        exam=_CXR,
        finding="Right lower lobe consolidation, compatible with {m}.",
        course="{m}: completed a course of ceftriaxone and azithromycin.",
    ),
    Condition(
        "acute kidney injury",
        ("N17.9",),
        "acute",
        0.2,
        ("acute renal failure", "acute kidney failure"),
        ("AKI",),
        {"creatinine": 1.6, "bun": 25, "potassium": 0.6, "bicarbonate": -4},
        severity=0.6,
        exam="RENAL U.S.",
        finding="No hydronephrosis; findings may reflect medical renal disease such as {m}.",
        course="{m}: prerenal; creatinine improved with IV fluids.",
    ),
    Condition(
        "hyperkalemia",
        ("E87.5",),
        "acute",
        0.06,
        ("elevated potassium",),
        ("hyperK",),
        {"potassium": 1.6, "heart_rate": -8},
        severity=0.4,
        course="{m}: treated with calcium gluconate, insulin and dextrose.",
    ),
    Condition(
        "acute respiratory failure",
        ("J96.01",),
        "acute",
        0.17,
        ("acute hypoxic respiratory failure", "hypoxemic respiratory failure"),
        ("AHRF",),
        {"spo2": -6, "fio2": 35, "respiratory_rate": 8, "ph": -0.06},
        severity=1.0,
        exam=_CXR,
        finding="Endotracheal tube 4 cm above the carina; diffuse opacities in the setting of {m}.",
        course="{m}: intubated on arrival, extubated on hospital day 3.",
    ),
    Condition(
        "gastrointestinal hemorrhage",
        ("K92.2",),
        "acute",
        0.09,
        ("gastrointestinal bleeding",),
        ("GIB", "GI bleed"),
        {"hemoglobin": -4.0, "heart_rate": 14, "systolic_bp": -14, "bun": 15},
        severity=0.7,
        exam="CTA ABDOMEN AND PELVIS",
        finding="Active contrast extravasation in the jejunum, consistent with {m}.",
        course="{m}: transfused 3 units PRBC; EGD with clipping of a bleeding ulcer.",
    ),
    Condition(
        "ischemic stroke",
        ("I63.9",),
        "acute",
        0.07,
        ("cerebral infarction", "cerebrovascular accident"),
        ("CVA",),
        {"gcs": 4.0, "systolic_bp": 20},
        severity=0.9,
        mortality=0.3,
        exam="CT HEAD W/O CONTRAST",
        finding="Hypodensity in the left MCA territory, consistent with acute {m}.",
        course="{m}: neurology followed; not a candidate for thrombolysis.",
    ),
    Condition(
        "non-ST elevation myocardial infarction",
        ("I21.4",),
        "acute",
        0.07,
        ("non-ST elevation MI",),
        ("NSTEMI",),
        {"troponin": 0.9, "heart_rate": 8},
        severity=0.5,
        course="{m}: heparin drip for 48 hours; cardiology recommended medical management.",
    ),
    Condition(
        "pulmonary embolism",
        ("I26.99",),
        "acute",
        0.04,
        ("pulmonary thromboembolism",),
        ("PE",),
        {"heart_rate": 18, "spo2": -5, "respiratory_rate": 5, "fio2": 10},
        severity=0.7,
        exam="CTA CHEST",
        finding="Filling defects in the right lower lobe pulmonary arteries, consistent with {m}.",
        course="{m}: anticoagulated with heparin, transitioned to apixaban.",
    ),
    Condition(
        "urinary tract infection",
        ("N39.0",),
        "acute",
        0.11,
        ("bladder infection",),
        ("UTI",),
        {"temperature": 0.6, "wbc": 4},
        severity=0.2,
        course="{m}: urine culture grew E. coli; ceftriaxone.",
    ),
    Condition(
        "alcohol withdrawal",
        ("F10.239",),
        "acute",
        0.05,
        ("alcohol withdrawal syndrome",),
        ("EtOH withdrawal",),
        {"heart_rate": 16, "systolic_bp": 14, "temperature": 0.4, "gcs": 1.5},
        severity=0.4,
        readmission=0.6,
        course="{m}: treated with a phenobarbital taper.",
    ),
    Condition(
        "diabetic ketoacidosis",
        ("E11.10",),
        "acute",
        0.0,
        ("ketoacidosis",),
        ("DKA",),
        {"glucose": 320, "ph": -0.18, "bicarbonate": -12, "potassium": 0.8, "respiratory_rate": 8},
        severity=0.6,
        course="{m}: insulin drip until the anion gap closed.",
    ),
    Condition(
        "hyponatremia",
        ("E87.1",),
        "acute",
        0.07,
        ("low sodium",),
        ("hypoNa",),
        {"sodium": -12, "gcs": 1.0},
        severity=0.2,
        course="{m}: fluid restriction; sodium corrected slowly.",
    ),
    Condition(
        "anemia",
        ("D64.9",),
        "acute",
        0.14,
        ("low hemoglobin",),
        (),
        {"hemoglobin": -3.0, "heart_rate": 6},
        course="{m}: transfused 1 unit PRBC.",
    ),
    # --- goals of care: per admission, note-only ---
    Condition(
        "do not resuscitate",
        ("Z66",),
        "care",
        0.05,
        ("do not resuscitate/do not intubate",),
        ("DNR/DNI", "DNR"),
        {},
        mortality=1.0,
        course="Code status: {m}, confirmed with the family.",
    ),
    Condition(
        "palliative care",
        ("Z51.5",),
        "care",
        0.02,
        ("comfort measures only", "comfort care"),
        ("CMO",),
        {},
        mortality=2.3,
        course="Goals of care: transitioned to {m} after a family meeting.",
    ),
)

_BY_NAME = {c.name: i for i, c in enumerate(CONDITIONS)}


def condition_index(name: str) -> int:
    """Position of a condition in `CONDITIONS`; the error lists the valid names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown condition {name!r}; valid: {sorted(_BY_NAME)}") from None


# Diagnoses that real admissions carry beside the main problems; coded but never a latent condition.
BACKGROUND_CODES: tuple[str, ...] = ("E78.5", "K21.9", "F32.9", "Z87.891", "E03.9")
