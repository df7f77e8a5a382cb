"""note/radiology and note/discharge text, and the ground truth of every condition mention.

Radiology reports are charted inside the first 48 h of most ICU stays (a few stays have none, some
long stays get one more after the window). The first report's INDICATION carries the history,
including the note-only facts that change the outcome (metastatic cancer, DNR, palliative care,
dementia, noncompliance); FINDINGS and IMPRESSION describe a condition that the exam shows. A
discharge summary per admission, charted at discharge, mentions every condition of the admission.

Each mention picks a surface form at random: the exact name ("string"), a synonym or an
abbreviation; `Mention` records it so the retrieval benchmark knows which note says what.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from emerge.data.synth.conditions import CONDITIONS, condition_index
from emerge.data.synth.tables import AdmissionArrays, StayArrays

__all__ = ["Mention", "Note", "SYMPTOMS", "write_notes"]

_NOTE_ONLY = [condition_index(n) for n in ("metastatic cancer", "dementia", "medication noncompliance")]
_CARE = [condition_index(n) for n in ("do not resuscitate", "palliative care")]
_AKI, _CKD = condition_index("acute kidney injury"), condition_index("chronic kidney disease")
SYMPTOMS = ("shortness of breath", "fever", "hypotension", "altered mental status", "chest pain", "hypoxia")
"""The symptoms a radiology indication may add ("now with fever"). Public because the
knowledge-alignment pair builder keeps the generator's vocabulary out of training
(`emerge.cli.retriever_data.synthetic_note_vocabulary`) and must read this tuple, not a copy."""
_NORMAL = (
    "No pleural effusion or pneumothorax.",
    "The cardiomediastinal silhouette is stable.",
    "No acute osseous abnormality.",
    "Lines and tubes are in standard position.",
)


@dataclass(frozen=True)
class Mention:
    note: int  # index into the list of notes
    condition: int
    surface_form: str
    match_type: str  # "string" | "synonym" | "abbreviation"


@dataclass(frozen=True)
class Note:
    kind: str  # "RR" | "DS"
    subject_id: int
    hadm_id: int
    charttime: int  # seconds since 1970
    storetime: int
    text: str


class _Writer:
    def __init__(self, r: random.Random):
        self.r, self.notes, self.mentions = r, [], []

    def m(self, ci: int) -> str:
        """One mention of condition `ci` in the note being written (index len(self.notes))."""
        c = CONDITIONS[ci]
        options = [("string", (c.name,)), ("synonym", c.synonyms), ("abbreviation", c.abbreviations)]
        options = [(t, forms) for t, forms in options if forms]
        kind, forms = self.r.choices(
            options, weights=[{"string": 4, "synonym": 3, "abbreviation": 3}[t] for t, _ in options]
        )[0]
        form = self.r.choice(forms)
        self.mentions.append(Mention(len(self.notes), ci, form, kind))
        return form

    def listing(self, conds: list[int]) -> str:
        parts = [self.m(c) for c in conds]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    def radiology(self, conds: set[int], sex: str, first: bool) -> str:
        r = self.r
        chronic = [
            c
            for c in sorted(conds)
            if CONDITIONS[c].kind == "chronic" and (c not in _NOTE_ONLY or (first and r.random() < 0.85))
        ]
        acute = [c for c in sorted(conds) if CONDITIONS[c].kind == "acute"]
        care = [c for c in sorted(conds) if c in _CARE and first and r.random() < 0.85]
        shown = [c for c in sorted(conds) if CONDITIONS[c].finding]
        target = r.choice(shown) if shown and r.random() < 0.8 else None
        exam = CONDITIONS[target].exam if target is not None else "CHEST (PORTABLE AP)"
        ind = f"___ year old {'man' if sex == 'M' else 'woman'}"
        if chronic:
            history = r.sample(chronic, min(len(chronic), 4)) if not first else chronic
            ind += f" with history of {self.listing(history)}"
        if acute and r.random() < 0.7:
            ind += f", now with {self.m(r.choice(acute))}"
        else:
            ind += f", now with {r.choice(SYMPTOMS)}"
        ind += "."
        for c in care:
            ind += f"  Code status: {self.m(c)}."
        ind += "  Evaluate for acute process."
        findings = " ".join(r.sample(_NORMAL, 2))
        if target is not None:
            findings = CONDITIONS[target].finding.format(m=self.m(target)) + "  " + findings
            impression = (
                f"Findings as above, compatible with {self.m(target)}."
                if r.random() < 0.6
                else "Findings as above."
            )
        else:
            impression = "No acute cardiopulmonary process."
        return (
            f"EXAMINATION:  {exam}\n\nINDICATION:  {ind}\n\nTECHNIQUE:  Single view.\n\nCOMPARISON:  ___\n\n"
            f"FINDINGS: \n\n{findings}\n\nIMPRESSION: \n\n{impression}\n"
        )

    def discharge(self, conds: set[int], primary: int, sex: str, died: bool) -> str:
        r = self.r
        chronic = [c for c in sorted(conds) if CONDITIONS[c].kind == "chronic"]
        acute = [c for c in sorted(conds) if CONDITIONS[c].kind == "acute"]
        care = [c for c in sorted(conds) if CONDITIONS[c].kind == "care"]
        title = "Mr." if sex == "M" else "Ms."
        hpi = f"{title} ___ is a ___ y/o {'man' if sex == 'M' else 'woman'}"
        hpi += (
            f" with a history of {self.listing(chronic)}" if chronic else " with no significant past history"
        )
        hpi += f" who presents with {self.m(primary)}."
        pmh = "\n".join(f"- {self.m(c)}" for c in chronic) or "- none"
        course = []
        for c in acute + [c for c in chronic if r.random() < 0.6] + care:
            if c == _AKI and _CKD in conds and r.random() < 0.5:
                self.mentions.append(Mention(len(self.notes), _AKI, "AKI", "abbreviation"))
                self.mentions.append(Mention(len(self.notes), _CKD, "CKD", "abbreviation"))
                course.append("# AKI on CKD: creatinine improved with IV fluids.")
                continue
            course.append("# " + CONDITIONS[c].course.format(m=self.m(c)))
        secondary = [c for c in acute + chronic if c != primary]
        dispo = "Expired" if died else r.choice(("Home", "Home With Service", "Extended Care"))
        ending = (
            "The patient expired on ___ in the presence of family."
            if died
            else "Discharge Condition:\nMental Status: Clear and coherent.\n"
            "Activity Status: Ambulatory - requires assistance."
        )
        return (
            f" \nName:  ___                     Unit No:   ___\n \nAdmission Date:  ___              "
            f"Discharge Date:   ___\n \nDate of Birth:  ___             Sex:   {sex}\n \n"
            f"Service: MEDICINE\n \nAllergies: \nNo Known Allergies / Adverse Drug Reactions\n \n"
            f"History of Present Illness:\n{hpi}\n \n"
            f"Past Medical History:\n{pmh}\n \nBrief Hospital Course:\n"
            + "\n".join(course)
            + f"\n \nDischarge Disposition:\n{dispo}\n \nDischarge Diagnosis:\nPrimary: {self.m(primary)}\n"
            + (f"Secondary: {self.listing(secondary)}\n" if secondary else "")
            + f" \n{ending}\n \nFollowup Instructions:\n___\n"
        )

    def add(self, kind: str, subject: int, hadm: int, charttime: int, storetime: int, text: str) -> None:
        self.notes.append(Note(kind, subject, hadm, charttime, storetime, text))


def write_notes(
    adm: AdmissionArrays, stays: StayArrays, r: random.Random
) -> tuple[list[Note], list[Mention]]:
    """Radiology reports per ICU stay and a discharge summary per admission, with their mentions."""
    w = _Writer(r)
    cond_sets = [set(np.flatnonzero(row).tolist()) for row in adm.conditions]
    for s in range(len(stays)):
        a = int(stays.admission[s])
        sex = "M" if adm.male[a] else "F"
        los_h = (stays.outtime[s] - stays.intime[s]) / 3600
        u = r.random()
        n_in = 0 if u < 0.07 else (1 if u < 0.6 else (2 if u < 0.88 else 3))
        hours = sorted(r.uniform(0.3, min(47.5, los_h - 0.1)) for _ in range(n_in))
        if los_h > 60 and r.random() < 0.35:
            hours.append(r.uniform(49.0, los_h - 0.1))
        for k, h in enumerate(hours):
            ct = int(stays.intime[s] + h * 3600) // 60 * 60
            text = w.radiology(cond_sets[a], sex, first=k == 0)
            w.add(
                "RR",
                int(stays.subject_id[s]),
                int(stays.hadm_id[s]),
                ct,
                ct + int(r.uniform(0.3, 3) * 3600) // 60 * 60,
                text,
            )
    for a in range(len(adm.hadm_id)):
        sex = "M" if adm.male[a] else "F"
        text = w.discharge(cond_sets[a], int(adm.primary[a]), sex, bool(adm.dies[a]))
        ct = int(adm.dischtime[a])
        w.add(
            "DS",
            int(adm.subject_id[a]),
            int(adm.hadm_id[a]),
            ct,
            ct + int(r.uniform(2, 36) * 3600) // 60 * 60,
            text,
        )
    return w.notes, w.mentions
