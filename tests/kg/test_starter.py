from __future__ import annotations

import pytest

from foundation.errors import UserInputError
from kg.starter.build import StarterSettings, normalize_concept_name, starter_cache_dir
from kg.starter.hpo import clean_obo_definition
from kg.starter.icd import icd9_dotted
from kg.starter.synonyms import read_clinical_synonyms


def test_helpers():
    assert normalize_concept_name("Acute kidney failure, unspecified") == "acute kidney failure"
    assert normalize_concept_name("Essential (primary) hypertension") == "essential hypertension"
    assert clean_obo_definition('"Low blood potassium." [https://orcid.org/0000]') == "Low blood potassium."
    assert clean_obo_definition(None) is None
    assert [icd9_dotted(c) for c in ("4019", "E8000", "V1582", "042")] == ["401.9", "E800.0", "V15.82", "042"]


def test_curated_table_covers_the_brief_terms():
    table = dict(read_clinical_synonyms())
    for term in (
        "HTN",
        "CHF",
        "AKI",
        "CKD",
        "COPD",
        "PNA",
        "afib",
        "DM2",
        "GIB",
        "CVA",
        "MI",
        "high blood pressure",
        "kidney failure",
        "low potassium",
        "high potassium",
        "low blood pressure",
        "fast heart rate",
    ):
        assert table[term], term
    assert table["low potassium"] == ("HP:0002900", "E87.6")
    with pytest.raises(UserInputError, match="line 1"):
        read_clinical_synonyms("HTN only-one-column-no-tab")


def test_cache_dir_depends_on_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("EMERGE_CACHE", str(tmp_path))
    a = starter_cache_dir()
    assert a.parent == tmp_path / "starter_kg"
    assert starter_cache_dir(settings=StarterSettings(include_icd9=False)) != a
    assert starter_cache_dir(tmp_path / "x").parent == tmp_path / "x"
