"""The synthetic cohort: MIMIC-IV layout, consistency, outcomes, notes, determinism, bad input."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import polars as pl
import pytest
import simple_icd_10_cm as icd
from click.testing import CliRunner

from emerge.data.synth import generate
from emerge.data.variables import VARIABLES, variable
from foundation.errors import UserInputError

# Headers copied from the MIMIC-IV 2.2 files and MIMIC-IV-Note 2.2 (not from our own schema module).
_NOTE = ["note_id", "subject_id", "hadm_id", "note_type", "note_seq", "charttime", "storetime", "text"]
MIMIC_HEADERS = {
    "hosp/patients": ["subject_id", "gender", "anchor_age", "anchor_year", "anchor_year_group", "dod"],
    "hosp/admissions": [
        "subject_id",
        "hadm_id",
        "admittime",
        "dischtime",
        "deathtime",
        "admission_type",
        "admit_provider_id",
        "admission_location",
        "discharge_location",
        "insurance",
        "language",
        "marital_status",
        "race",
        "edregtime",
        "edouttime",
        "hospital_expire_flag",
    ],
    "hosp/labevents": [
        "labevent_id",
        "subject_id",
        "hadm_id",
        "specimen_id",
        "itemid",
        "order_provider_id",
        "charttime",
        "storetime",
        "value",
        "valuenum",
        "valueuom",
        "ref_range_lower",
        "ref_range_upper",
        "flag",
        "priority",
        "comments",
    ],
    "hosp/d_labitems": ["itemid", "label", "fluid", "category"],
    "hosp/diagnoses_icd": ["subject_id", "hadm_id", "seq_num", "icd_code", "icd_version"],
    "hosp/d_icd_diagnoses": ["icd_code", "icd_version", "long_title"],
    "icu/icustays": [
        "subject_id",
        "hadm_id",
        "stay_id",
        "first_careunit",
        "last_careunit",
        "intime",
        "outtime",
        "los",
    ],
    "icu/chartevents": [
        "subject_id",
        "hadm_id",
        "stay_id",
        "caregiver_id",
        "charttime",
        "storetime",
        "itemid",
        "value",
        "valuenum",
        "valueuom",
        "warning",
    ],
    "icu/d_items": [
        "itemid",
        "label",
        "abbreviation",
        "linksto",
        "category",
        "unitname",
        "param_type",
        "lownormalvalue",
        "highnormalvalue",
    ],
    "note/discharge": _NOTE,
    "note/radiology": _NOTE,
}
TIME_COLS = {
    "admittime",
    "dischtime",
    "deathtime",
    "edregtime",
    "edouttime",
    "intime",
    "outtime",
    "charttime",
    "storetime",
}


def read(root: Path, table: str) -> pl.DataFrame:
    df = pl.read_csv(root / f"{table}.csv.gz", infer_schema_length=0)  # all strings, as written
    fmt = "%Y-%m-%d %H:%M:%S"
    return df.with_columns(
        [pl.col(c).str.strptime(pl.Datetime, fmt, strict=True) for c in df.columns if c in TIME_COLS]
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("synth") / "cohort"
    return out, generate(out, stays=60, seed=7)


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("synth") / "cohort"
    return out, generate(out, stays=400, seed=11)


def test_files_and_headers_match_mimic_iv(small):
    out, summary = small
    for table, header in MIMIC_HEADERS.items():
        with gzip.open(out / f"{table}.csv.gz", "rt") as fh:
            assert fh.readline().rstrip("\n").split(",") == header, table
    assert summary.stays == 60 and read(out, "icu/icustays").height == 60
    assert (
        "no real patients" in (out / "SYNTHETIC.md").read_text()
        and "seed: 7" in (out / "SYNTHETIC.md").read_text()
    )
    assert set(pl.read_parquet(out / "truth/stay_conditions.parquet").columns) == {
        "stay_id",
        "subject_id",
        "hadm_id",
        "condition",
    }


def test_times_parse_and_events_fall_inside_their_stay(small):
    out, _ = small
    stays = read(out, "icu/icustays")
    ce = read(out, "icu/chartevents").join(stays.select("stay_id", "intime", "outtime"), on="stay_id")
    assert ce.height > 60 * 100
    assert (
        ce.filter((pl.col("charttime") < pl.col("intime")) | (pl.col("charttime") > pl.col("outtime"))).height
        == 0
    )
    assert (stays["outtime"] > stays["intime"]).all()
    los = (stays["outtime"] - stays["intime"]).dt.total_seconds() / 86400
    assert (los - stays["los"].cast(pl.Float64)).abs().max() < 1e-6
    adm = read(out, "hosp/admissions")
    labs = read(out, "hosp/labevents").join(adm.select("hadm_id", "admittime", "dischtime"), on="hadm_id")
    assert (
        labs.filter(
            (pl.col("charttime") < pl.col("admittime")) | (pl.col("charttime") > pl.col("dischtime"))
        ).height
        == 0
    )
    assert (
        stays.join(adm, on="hadm_id")
        .filter((pl.col("intime") < pl.col("admittime")) | (pl.col("outtime") > pl.col("dischtime")))
        .height
        == 0
    )
    years = stays["intime"].dt.year()
    assert years.min() >= 2110 and years.max() <= 2210


def test_mortality_agrees_with_expire_flag_deathtime_and_dod(medium):
    out, summary = medium
    adm = read(out, "hosp/admissions").join(
        pl.read_csv(out / "hosp/patients.csv.gz", infer_schema_length=0).select("subject_id", "dod"),
        on="subject_id",
    )
    died = adm.filter(pl.col("hospital_expire_flag") == "1")
    alive = adm.filter(pl.col("hospital_expire_flag") == "0")
    assert died.height == summary.in_hospital_deaths > 0
    assert died["deathtime"].is_not_null().all() and alive["deathtime"].is_null().all()
    assert (died["deathtime"] == died["dischtime"]).all() and (died["discharge_location"] == "DIED").all()
    assert (died["deathtime"].dt.strftime("%Y-%m-%d") == died["dod"]).all()


def test_outcome_rates_are_plausible_and_depend_on_note_only_facts(medium):
    out, summary = medium
    assert 0.06 <= summary.mortality_rate <= 0.2
    assert 0.08 <= summary.readmission_rate <= 0.26
    assert summary.readmission_rate >= summary.mortality_rate  # deaths within 30 days count as readmission
    cond = pl.read_parquet(out / "truth/stay_conditions.parquet")
    facts = cond.filter(
        pl.col("condition").is_in(["metastatic cancer", "do not resuscitate", "palliative care"])
    )
    lab = pl.read_parquet(out / "truth/stay_outcomes.parquet").with_columns(
        fact=pl.col("stay_id").is_in(facts["stay_id"].implode())
    )
    rate = (
        lab.group_by("fact").agg(pl.col("mortality_inhospital").mean()).sort("fact")["mortality_inhospital"]
    )
    assert rate[1] > 2 * rate[0]


def test_edge_cases_exist(medium):
    out, _ = medium
    stays = read(out, "icu/icustays")
    pats = pl.read_csv(out / "hosp/patients.csv.gz")
    assert (pats["anchor_age"] < 18).sum() >= 1
    assert (stays["los"].cast(pl.Float64) < 2).sum() >= 10
    assert (stays["first_careunit"] != stays["last_careunit"]).sum() >= 5
    assert stays.group_by("hadm_id").len()["len"].max() >= 2
    assert read(out, "hosp/admissions").group_by("subject_id").len()["len"].max() >= 2


def test_charted_items_and_values(medium):
    out, _ = medium
    ce = pl.read_csv(out / "icu/chartevents.csv.gz", infer_schema_length=0).with_columns(
        pl.col("itemid").cast(pl.Int64), pl.col("valuenum").cast(pl.Float64)
    )
    items = set(ce["itemid"].unique().to_list())
    for v in VARIABLES:
        if v.name != "gcs_total":  # MIMIC-IV charts no GCS total; 198 is MIMIC-III CareVue only
            assert items & set(v.chart_itemids), v.name
    assert {220045, 220179, 220180, 220181, 223761, 220739, 223900, 223901, 223951} <= items
    assert items - {i for v in VARIABLES for i in v.itemids}, "needs some non-benchmark itemids"
    for name, item in (
        ("gcs_eye", 220739),
        ("gcs_verbal", 223900),
        ("gcs_motor", 223901),
        ("capillary_refill", 223951),
    ):
        texts = ce.filter(pl.col("itemid") == item)["value"].unique().to_list()
        assert all(t.lower() in variable(name).text_map for t in texts), (name, texts)
    eye = ce.filter(pl.col("value") == "Spontaneously")
    assert (eye["valuenum"] == 4).all()
    hr = ce.filter(pl.col("itemid") == 220045)["valuenum"]
    assert 60 < hr.median() < 110 and (hr > variable("heart_rate").valid_range[1]).sum() >= 1
    temp_f = ce.filter(pl.col("itemid") == 223761)["valuenum"]
    assert 96 < temp_f.median() < 101
    labs = pl.read_csv(out / "hosp/labevents.csv.gz", infer_schema_length=0)
    assert {"50931", "50820", "50912", "50971"} <= set(labs["itemid"].to_list())


def test_icd_codes_are_real_and_described(small):
    out, _ = small
    d = pl.read_csv(out / "hosp/d_icd_diagnoses.csv.gz", infer_schema_length=0)
    for code, title in d.select("icd_code", "long_title").iter_rows():
        assert icd.is_valid_item(code) and icd.get_description(code) == title
    dx = pl.read_csv(out / "hosp/diagnoses_icd.csv.gz", infer_schema_length=0)
    assert set(dx["icd_code"]) <= set(d["icd_code"]) and "." not in "".join(dx["icd_code"])


def test_radiology_inside_window_and_discharge_after(medium):
    out, _ = medium
    stays = read(out, "icu/icustays")
    rr = read(out, "note/radiology").join(stays.select("hadm_id", "stay_id", "intime"), on="hadm_id")
    inside = rr.filter(
        (pl.col("charttime") >= pl.col("intime"))
        & (pl.col("charttime") <= pl.col("intime") + pl.duration(hours=48))
    )
    frac = inside["stay_id"].n_unique() / stays.height
    assert 0.8 <= frac < 1.0  # most stays have one, a few have none
    assert rr["note_id"].str.contains(r"^\d{8}-RR-\d+$").all() and (rr["note_type"] == "RR").all()
    ds = read(out, "note/discharge").join(
        read(out, "hosp/admissions").select("hadm_id", "dischtime"), on="hadm_id"
    )
    assert (ds["charttime"] == ds["dischtime"]).all() and ds["note_id"].str.contains(r"^\d{8}-DS-\d+$").all()
    long = stays.filter(pl.col("los").cast(pl.Float64) >= 2).join(
        ds.select("hadm_id", "charttime"), on="hadm_id"
    )
    assert long.filter(pl.col("charttime") <= pl.col("intime") + pl.duration(hours=48)).height == 0


def test_mentions_occur_literally_and_cover_every_condition(medium):
    out, _ = medium
    notes = pl.concat([read(out, "note/radiology"), read(out, "note/discharge")]).select("note_id", "text")
    mentions = pl.read_parquet(out / "truth/note_mentions.parquet").join(notes, on="note_id")
    assert set(mentions["match_type"].unique()) == {"string", "synonym", "abbreviation"}
    assert all(form in text for form, text in mentions.select("surface_form", "text").iter_rows())
    assert {"HTN", "CHF", "afib", "PNA", "DM2", "CVA", "mets"} & set(mentions["surface_form"])
    cond = pl.read_parquet(out / "truth/stay_conditions.parquet").select("hadm_id", "condition").unique()
    in_ds = mentions.filter(pl.col("note_id").str.contains("-DS-")).select("hadm_id", "condition").unique()
    assert cond.join(in_ds, on=["hadm_id", "condition"], how="anti").height == 0


def _decompressed(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): gzip.decompress(p.read_bytes()) for p in sorted(root.rglob("*.csv.gz"))}


def test_deterministic_per_seed(tmp_path):
    a, b, c = (generate(tmp_path / n, stays=30, seed=s) for n, s in (("a", 5), ("b", 5), ("c", 6)))
    assert a == b and a != c
    da, db, dc = (_decompressed(tmp_path / n) for n in "abc")
    assert da == db
    assert da["icu/chartevents.csv.gz"] != dc["icu/chartevents.csv.gz"]


@pytest.mark.parametrize("stays", [0, -3])
def test_rejects_bad_stays(tmp_path, stays):
    with pytest.raises(UserInputError, match="stays"):
        generate(tmp_path / "x", stays=stays)


def test_out_dir_rules(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    (full / "SYNTHETIC.md").write_text("# my own notes\n")  # a look-alike marker proves nothing
    for overwrite in (False, True):
        with pytest.raises(UserInputError, match="not written by emerge"):
            generate(full, stays=5, overwrite=overwrite)
    assert (full / "keep.txt").read_text() == "mine" and (
        full / "SYNTHETIC.md"
    ).read_text() == "# my own notes\n"
    ours = tmp_path / "ours"
    generate(ours, stays=5, seed=1)
    before = (ours / "icu" / "icustays.csv.gz").stat().st_mtime_ns
    assert generate(ours, stays=5, seed=1).stays == 5  # the same cohort: reused, not rewritten
    assert (ours / "icu" / "icustays.csv.gz").stat().st_mtime_ns == before
    with pytest.raises(UserInputError, match="holds another synthetic cohort.*--overwrite"):
        generate(ours, stays=5, seed=2)
    generate(ours, stays=8, seed=2, overwrite=True)
    assert read(ours, "icu/icustays").height == 8
    (ours / "analysis.ipynb").write_text("{}")
    with pytest.raises(UserInputError, match=r"files emerge did not write \(analysis.ipynb\)"):
        generate(ours, stays=9, seed=2, overwrite=True)
    assert (ours / "analysis.ipynb").exists()


def test_cli(tmp_path):
    from emerge.cli import cli

    result = CliRunner().invoke(
        cli, ["data", "synth", "--out", str(tmp_path / "c"), "--stays", "12", "--seed", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 12 ICU stays" in result.output
    assert (tmp_path / "c" / "icu" / "chartevents.csv.gz").exists()


@pytest.mark.slow
def test_2000_stays_under_30_seconds(tmp_path):
    t0 = time.perf_counter()
    summary = generate(tmp_path / "big", stays=2000, seed=0)
    assert time.perf_counter() - t0 < 30
    assert summary.stays == 2000 and 0.08 <= summary.mortality_rate <= 0.16
