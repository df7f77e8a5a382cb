"""The death term of EMERGE's readmission label: in-hospital death time (EMERGE's preprocessing, the
default) or the patient's date of death (deaths after discharge too), on hand-made stays."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from emerge.data.config import BuildConfig, LabelConfig
from emerge.data.labels import add_labels


def _t(day: int, hour: int = 0) -> datetime:
    """Day `day` (1 = 2150-01-01) at `hour`."""
    return datetime(2150, 1, 1, hour) + timedelta(days=day - 1)


# Every stay: ICU outtime on day 5, hospital discharge on day 8 (or death), no later ICU stay.
STAYS = {
    # stay: (deathtime of the admission, patients.dod, expected in_hospital, expected date_of_death)
    1: (None, None, 0, 0),  # alive
    2: (_t(8), _t(8), 1, 1),  # died in hospital 3 days after ICU discharge
    3: (_t(4), _t(4), 1, 1),  # died in the ICU (before outtime): counts, as in EMERGE's code
    4: (None, _t(20), 0, 1),  # died at home 15 days after ICU discharge: only with the date of death
    5: (None, _t(40), 0, 0),  # died at home 35 days after ICU discharge: outside the 30-day window
    6: (_t(34, 23), _t(34), 1, 1),  # in-hospital death 29 days 23 h after outtime (day 5, 0 h)
    7: (_t(35, 1), _t(35), 0, 0),  # 30 days 1 h after outtime: outside
}


@pytest.fixture
def cohort():
    ids = list(STAYS)
    return pl.DataFrame(
        {
            "stay_id": ids,
            "subject_id": [10 * i for i in ids],
            "admittime": [_t(1)] * len(ids),
            "dischtime": [STAYS[i][0] or _t(8) for i in ids],
            "outtime": [_t(5)] * len(ids),
            "deathtime": [STAYS[i][0] for i in ids],
            "dod": [STAYS[i][1] for i in ids],
            "hospital_expire_flag": [int(STAYS[i][0] is not None) for i in ids],
        },
        schema_overrides={"deathtime": pl.Datetime("us"), "dod": pl.Datetime("us")},
    )


NO_STAYS = pl.DataFrame(
    {"subject_id": [], "intime": []}, schema={"subject_id": pl.Int64, "intime": pl.Datetime}
)
NO_ADMISSIONS = pl.DataFrame(
    {"subject_id": [], "admittime": []}, schema={"subject_id": pl.Int64, "admittime": pl.Datetime}
)


@pytest.mark.parametrize(("death", "column"), [("in_hospital", 2), ("date_of_death", 3)])
def test_readmission_death_term(cohort, death, column):
    labels = add_labels(cohort, NO_STAYS, NO_ADMISSIONS, LabelConfig(readmission_death=death))
    assert labels["readmission_30d"].to_list() == [STAYS[i][column] for i in STAYS]


def test_the_default_is_emerge_in_hospital_death_and_icu_ignores_death(cohort):
    assert LabelConfig().readmission_death == "in_hospital"
    default = add_labels(cohort, NO_STAYS, NO_ADMISSIONS, LabelConfig())
    assert default["readmission_30d"].to_list() == [STAYS[i][2] for i in STAYS]
    for death in ("in_hospital", "date_of_death"):
        icu = add_labels(
            cohort, NO_STAYS, NO_ADMISSIONS, LabelConfig(readmission="icu", readmission_death=death)
        )
        assert icu["readmission_30d"].sum() == 0


def test_readmission_death_is_validated_and_part_of_the_settings():
    with pytest.raises(ValueError, match="readmission_death"):
        LabelConfig(readmission_death="dod")
    a, b = BuildConfig(), BuildConfig(labels=LabelConfig(readmission_death="date_of_death"))
    assert a.model_dump()["labels"]["readmission_death"] == "in_hospital" and a != b  # another cache key
