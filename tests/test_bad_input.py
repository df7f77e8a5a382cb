"""Bad input, command by command: every case ends with exit status 2, no traceback, and a message that
names the file or value at fault (and nothing of the user's is changed).

Each case is (id, argv, expected text in the message); paths in argv are relative to a workspace built
once per session (a tiny synthetic cohort and its dataset, a tiny saved KG, files a user might pass by
mistake). The commands run in-process through `emerge.cli.main`, so a genuine bug surfaces as an
exception (the test fails) rather than as a message.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from pathlib import Path

import polars as pl
import pytest
import yaml

from emerge.cli import main
from tests.helpers.kg import ward_kg
from tests.helpers.paths import CONFIGS, REPO

USER_FILES = {"src/train.py": "print('mine')\n", "results.csv": "auroc\n0.8\n"}


def _user_folder(path: Path, marker: str) -> Path:
    """A folder of the user's own files, plus a file with a name emerge also writes."""
    for name, text in {
        **USER_FILES,
        marker: json.dumps({"kind": "ehr_dataset", "format_version": 1}),
    }.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return path


def _damage(path: Path, keep: int = 60) -> Path:
    path.write_bytes(path.read_bytes()[:keep])
    return path


@pytest.fixture(scope="session")
def ws(tmp_path_factory) -> Path:
    from emerge.data.build import build_dataset
    from emerge.data.config import BuildConfig
    from emerge.data.synth import generate

    ws = tmp_path_factory.mktemp("bad_input")
    generate(ws / "synth", stays=120, seed=3)
    build_dataset(ws / "synth", ws / "dataset", BuildConfig())
    # a tiny KG the RAG commands can use without building the starter KG
    ward_kg().save(ws / "kg")
    (ws / "kg_damaged").mkdir()
    for f in (ws / "kg").iterdir():
        (ws / "kg_damaged" / f.name).write_bytes(f.read_bytes())
    _damage(ws / "kg_damaged" / "nodes.parquet")
    # the user's own things
    for name in (
        "user_ds",
        "user_synth",
        "user_kg",
        "user_run",
        "user_rag",
        "user_index",
        "user_train",
        "user_demo",
    ):
        _user_folder(
            ws / name, {"user_synth": "SYNTHETIC.md", "user_kg": "config.json"}.get(name, "dataset.json")
        )
    (ws / "mine.jsonl").write_text('{"anchor": "my data", "positives": ["x"]}\n')
    (ws / "a_file.txt").write_text("not a folder\n")
    (ws / "empty.txt").write_text("")
    (ws / "latin1.txt").write_bytes("fi\xe8vre \xe9lev\xe9e\n".encode("latin-1"))
    (ws / "mentions.txt").write_text("HTN\nsepsis\n")
    (ws / "bad.yaml").write_text("name: x\nmodels: a: b\n")  # a second ':' on line 2
    (ws / "wrong_type.yaml").write_text("window_hours: lots\n")
    (ws / "unknown_key.yaml").write_text("windw_hours: 24\n")
    (ws / "epochs0.yaml").write_text(yaml.safe_dump({"epochs": 0}))
    (ws / "prompts_empty.jsonl").write_text("\n")
    (ws / "prompts_blank.jsonl").write_text(
        '{"id": "p1", "prompt": "hello"}\n{"id": "p2", "prompt": "   "}\n'
    )
    (ws / "prompts.jsonl").write_text('{"id": "p1", "prompt": "hello"}\n')
    (ws / "examples_bad.jsonl").write_text('{"anchor": "a", "positives": ["b"]}\n{"anchor": 1, \n')
    (ws / "openai_off.yaml").write_text(yaml.safe_dump({"backend": "openai", "model": "m"}))
    (ws / "openai_dead.yaml").write_text(
        yaml.safe_dump(
            {
                "backend": "openai",
                "model": "m",
                "timeout_s": 2,
                "allow_remote_patient_text": True,
                "base_url": "http://127.0.0.1:9/v1",
            }
        )
    )
    (ws / "vllm_placeholder.yaml").write_text(
        yaml.safe_dump({"backend": "vllm", "model": "/path/to/your/model"})
    )
    (ws / "not_sqlite.sqlite").write_bytes(b"this is not a database" * 100)
    db = ws / "damaged.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 300)
    data = bytearray(db.read_bytes())
    data[4096:12288] = b"\xff" * 8192
    db.write_bytes(bytes(data))
    (ws / "empty_chunks.jsonl").write_text("")
    (ws / "notes_damaged.parquet").write_bytes(b"PAR1" + bytes(range(200)) + b"PAR1")
    (ws / "notes_latin1.csv").write_bytes("note_id,subject_id,text\n1,2,fi\xe8vre\n".encode("latin-1"))
    with gzip.open(ws / "notes.csv.gz", "wt") as fh:
        fh.write("note_id,subject_id,text\n" + "".join(f"{i},1,{'word ' * 80}\n" for i in range(200)))
    _damage(ws / "notes.csv.gz", 300)
    (ws / "not_a_model").mkdir()
    (ws / "not_a_model" / "config.json").write_text("{}")
    # a MIMIC root with a stay listed twice with different times (conflicting duplicate)
    conflict = ws / "mimic_conflict"
    for sub in ("hosp", "icu"):
        (conflict / sub).mkdir(parents=True)
        for f in (ws / "synth" / sub).iterdir():
            (conflict / sub / f.name).write_bytes(f.read_bytes())
    stays = pl.read_csv(conflict / "icu" / "icustays.csv.gz")
    twin = stays.head(1).with_columns(pl.lit("OTHER UNIT").alias("last_careunit"))
    with gzip.open(conflict / "icu" / "icustays.csv.gz", "wb") as fh:
        pl.concat([stays, twin]).write_csv(fh)
    # a MIMIC root whose icustays table is a folder
    folder_table = ws / "mimic_folder_table"
    (folder_table / "icu" / "icustays.csv.gz").mkdir(parents=True)
    (folder_table / "hosp").mkdir()
    for f in (ws / "synth" / "hosp").iterdir():
        (folder_table / "hosp" / f.name).write_bytes(f.read_bytes())
    # a MIMIC root with both patients.csv and patients.csv.gz
    both = ws / "mimic_both"
    for sub in ("hosp", "icu"):
        (both / sub).mkdir(parents=True)
        for f in (ws / "synth" / sub).iterdir():
            (both / sub / f.name).write_bytes(f.read_bytes())
    (both / "hosp" / "patients.csv").write_bytes(
        gzip.decompress((both / "hosp" / "patients.csv.gz").read_bytes())
    )
    # a MIMIC root with a truncated chartevents
    trunc = ws / "mimic_truncated"
    for sub in ("hosp", "icu"):
        (trunc / sub).mkdir(parents=True)
        for f in (ws / "synth" / sub).iterdir():
            (trunc / sub / f.name).write_bytes(f.read_bytes())
    _damage(trunc / "icu" / "chartevents.csv.gz", 5000)
    return ws


DS, SYN = "dataset", "synth"
RAG_FRESH = "rag_fresh"  # an empty RAG output folder: no step has run
CASES = [
    # ----------------------------------------------------------------- data
    ("build-root-missing", ["data", "build", "--root", "nowhere", "--out", "o1"], "nowhere"),
    ("build-root-is-file", ["data", "build", "--root", "a_file.txt", "--out", "o1"], "a_file.txt"),
    (
        "build-out-user-folder",
        ["data", "build", "--root", SYN, "--out", "user_ds"],
        "user_ds is not empty and was not written by emerge",
    ),
    (
        "build-out-is-file",
        ["data", "build", "--root", SYN, "--out", "a_file.txt"],
        "a_file.txt exists and is not a folder",
    ),
    (
        "build-config-yaml-syntax",
        ["data", "build", "--root", SYN, "--out", "o1", "--config", "bad.yaml"],
        "bad.yaml, line 2",
    ),
    (
        "build-config-wrong-type",
        ["data", "build", "--root", SYN, "--out", "o1", "--config", "wrong_type.yaml"],
        "window_hours",
    ),
    (
        "build-config-unknown-key",
        ["data", "build", "--root", SYN, "--out", "o1", "--config", "unknown_key.yaml"],
        "windw_hours",
    ),
    (
        "build-config-missing",
        ["data", "build", "--root", SYN, "--out", "o1", "--config", "nope.yaml"],
        "nope.yaml not found",
    ),
    ("build-conflicting-stays", ["data", "build", "--root", "mimic_conflict", "--out", "o1"], "icustays"),
    (
        "build-table-is-folder",
        ["data", "build", "--root", "mimic_folder_table", "--out", "o1"],
        "icustays.csv.gz",
    ),
    ("build-csv-and-gz", ["data", "build", "--root", "mimic_both", "--out", "o1"], "patients.csv"),
    (
        "build-truncated-gzip",
        ["data", "build", "--root", "mimic_truncated", "--out", "o1"],
        "chartevents.csv.gz",
    ),
    (
        "build-wrong-version",
        ["data", "build", "--root", SYN, "--version", "iii", "--out", "o1"],
        "Use --version iv",
    ),
    (
        "synth-user-folder-overwrite",
        ["data", "synth", "--out", "user_synth", "--stays", "50", "--overwrite"],
        "user_synth is not empty and was not written by emerge",
    ),
    ("synth-zero-stays", ["data", "synth", "--out", "o2", "--stays", "0"], "stays=0"),
    (
        "synth-out-under-file",
        ["data", "synth", "--out", "a_file.txt/sub", "--stays", "50"],
        "a_file.txt is a file",
    ),
    # ------------------------------------------------------------------- kg
    ("kg-stats-missing", ["kg", "stats", "nowhere"], "nowhere"),
    ("kg-stats-damaged", ["kg", "stats", "kg_damaged"], "nodes.parquet"),
    ("kg-stats-dataset-folder", ["kg", "stats", DS], "dataset"),
    (
        "kg-link-mentions-missing",
        ["kg", "link", "--kg", "kg", "--mentions", "nope.txt"],
        "nope.txt not found",
    ),
    (
        "kg-link-mentions-empty",
        ["kg", "link", "--kg", "kg", "--mentions", "empty.txt"],
        "empty.txt holds no mention",
    ),
    (
        "kg-link-mentions-latin1",
        ["kg", "link", "--kg", "kg", "--mentions", "latin1.txt"],
        "latin1.txt is not UTF-8",
    ),
    (
        "kg-link-model-not-encoder",
        ["kg", "link", "--kg", "kg", "--mentions", "mentions.txt", "--model", "not_a_model"],
        "not_a_model",
    ),
    (
        "kg-link-out-user-file",
        ["kg", "link", "--kg", "kg", "--mentions", "mentions.txt", "--out", "mine.jsonl"],
        "mine.jsonl exists and was not written by emerge",
    ),
    (
        "kg-build-starter-user-folder",
        ["kg", "build-starter", "--out", "user_kg"],
        "user_kg is not empty and was not written by emerge",
    ),
    (
        "kg-import-user-folder",
        [
            "kg",
            "import",
            "primekg",
            "--kg-csv",
            str(REPO / "tests/kg/fixtures/primekg/kg.csv"),
            "--out",
            "user_kg",
        ],
        "user_kg is not empty and was not written by emerge",
    ),
    ("kg-import-csv-missing", ["kg", "import", "primekg", "--kg-csv", "nope.csv", "--out", "k2"], "nope.csv"),
    ("kg-import-bios-missing", ["kg", "import", "bios", "--dir", "no_bios", "--out", "k3"], "no_bios"),
    # ------------------------------------------------------------ retriever
    (
        "train-config-syntax",
        ["retriever", "train", "--config", "bad.yaml", "--data", "mine.jsonl", "--out", "t1"],
        "bad.yaml, line 2",
    ),
    (
        "train-config-epochs-0",
        ["retriever", "train", "--config", "epochs0.yaml", "--data", "mine.jsonl", "--out", "t1"],
        "epochs",
    ),
    (
        "train-data-missing",
        [
            "retriever",
            "train",
            "--config",
            str(CONFIGS / "retriever" / "stage1_minilm.yaml"),
            "--data",
            "nope.jsonl",
            "--out",
            "t1",
        ],
        "nope.jsonl not found",
    ),
    (
        "train-data-bad-line",
        [
            "retriever",
            "train",
            "--config",
            str(CONFIGS / "retriever" / "stage1_minilm.yaml"),
            "--data",
            "examples_bad.jsonl",
            "--out",
            "t1",
        ],
        "examples_bad.jsonl:2",
    ),
    (
        "train-out-user-folder",
        [
            "retriever",
            "train",
            "--config",
            str(CONFIGS / "retriever" / "stage1_minilm.yaml"),
            "--data",
            "mine.jsonl",
            "--out",
            "user_train",
        ],
        "user_train is not empty and was not written by emerge",
    ),
    (
        "stage1-notes-missing",
        ["retriever", "build-stage1", "--notes", "nope.parquet", "--out", "s1.jsonl"],
        "nope.parquet",
    ),
    (
        "stage1-out-user-file",
        ["retriever", "build-stage1", "--notes", f"{DS}/notes.parquet", "--out", "mine.jsonl"],
        "mine.jsonl exists and was not written by emerge",
    ),
    (
        "stage1-notes-damaged",
        ["retriever", "build-stage1", "--notes", "notes_damaged.parquet", "--out", "s2.jsonl", "--kg", "kg"],
        "notes_damaged.parquet",
    ),
    (
        "stage1-notes-latin1",
        ["retriever", "build-stage1", "--notes", "notes_latin1.csv", "--out", "s3.jsonl", "--kg", "kg"],
        "notes_latin1.csv",
    ),
    (
        "stage1-notes-truncated-gzip",
        ["retriever", "build-stage1", "--notes", "notes.csv.gz", "--out", "s4.jsonl", "--kg", "kg"],
        "notes.csv.gz",
    ),
    (
        "index-chunks-empty",
        ["retriever", "index", "--model", "default", "--chunks", "empty_chunks.jsonl", "--out", "i1"],
        "empty_chunks.jsonl",
    ),
    (
        "index-out-user-folder",
        ["retriever", "index", "--model", "default", "--chunks", "mine.jsonl", "--out", "user_index"],
        "user_index is not empty and was not written by emerge",
    ),
    ("eval-model-missing", ["retriever", "eval", "--model", "no_model_here", "--data", DS], "no_model_here"),
    # ------------------------------------------------------------------ llm
    (
        "llm-prompts-empty",
        ["llm", "generate", "--prompts", "prompts_empty.jsonl", "--out", "g1.jsonl"],
        "prompts_empty.jsonl holds no prompts",
    ),
    ("llm-prompt-blank", ["llm", "generate", "--prompts", "prompts_blank.jsonl", "--out", "g1.jsonl"], "p2"),
    (
        "llm-openai-not-enabled",
        [
            "llm",
            "generate",
            "--llm",
            "openai_off.yaml",
            "--prompts",
            "prompts.jsonl",
            "--out",
            "g1.jsonl",
            "--cache",
            "c1.sqlite",
        ],
        "allow_remote_patient_text",
    ),
    (
        "llm-openai-server-down",
        [
            "llm",
            "generate",
            "--llm",
            "openai_dead.yaml",
            "--prompts",
            "prompts.jsonl",
            "--out",
            "g1.jsonl",
            "--cache",
            "c2.sqlite",
        ],
        "127.0.0.1:9",
    ),
    (
        "llm-cache-not-sqlite",
        [
            "llm",
            "generate",
            "--prompts",
            "prompts.jsonl",
            "--out",
            "g1.jsonl",
            "--cache",
            "not_sqlite.sqlite",
        ],
        "not_sqlite.sqlite",
    ),
    (
        "llm-cache-damaged",
        ["llm", "generate", "--prompts", "prompts.jsonl", "--out", "g1.jsonl", "--cache", "damaged.sqlite"],
        "damaged.sqlite",
    ),
    (
        "llm-out-user-file",
        ["llm", "generate", "--prompts", "prompts.jsonl", "--out", "mine.jsonl", "--cache", "c3.sqlite"],
        "mine.jsonl exists and was not written by emerge",
    ),
    (
        "llm-config-syntax",
        ["llm", "generate", "--llm", "bad.yaml", "--prompts", "prompts.jsonl", "--out", "g1.jsonl"],
        "bad.yaml",
    ),
    (
        "llm-vllm-placeholder",
        [
            "llm",
            "generate",
            "--llm",
            "vllm_placeholder.yaml",
            "--prompts",
            "prompts.jsonl",
            "--out",
            "g1.jsonl",
            "--cache",
            "c4.sqlite",
        ],
        "/path/to/your/model",
    ),
    # ------------------------------------------------------------------ rag
    (
        "rag-summarize-before-link",
        ["rag", "summarize", "--data", DS, "--kg", "kg", "--out", RAG_FRESH],
        "run `emerge rag link",
    ),
    (
        "rag-link-before-entities",
        ["rag", "link", "--kg", "kg", "--out", RAG_FRESH],
        "run `emerge rag entities",
    ),
    (
        "rag-data-not-dataset",
        ["rag", "entities", "--data", "kg", "--kg", "kg", "--out", "r1", "--mode", "matcher"],
        "kg",
    ),
    (
        "rag-out-user-folder",
        ["rag", "entities", "--data", DS, "--kg", "kg", "--out", "user_rag", "--mode", "matcher"],
        "user_rag is not empty and was not written by emerge",
    ),
    ("rag-show-before-summaries", ["rag", "show", "1", "--out", RAG_FRESH], "emerge rag summarize"),
    # ------------------------------------------------------------- run, demo
    ("run-config-missing", ["run", "--config", "nope.yaml"], "'nope.yaml' not found"),
    ("run-config-syntax", ["run", "--config", "bad.yaml"], "bad.yaml, line 2"),
    (
        "run-out-user-folder",
        ["run", "--config", str(CONFIGS / "experiment" / "demo.yaml"), "--out", "user_run"],
        "user_run is not empty and was not written by emerge",
    ),
    (
        "run-check-mimic-without-root",
        ["run", "--config", str(CONFIGS / "experiment" / "mimic_iv_mortality.yaml"), "--check"],
        "pass --root",
    ),
    (
        "run-llm-missing",
        ["run", "--config", str(CONFIGS / "experiment" / "demo.yaml"), "--llm", "llm/nope.yaml", "--check"],
        "nope.yaml",
    ),
    ("demo-too-few-stays", ["demo", "--stays", "5"], "5"),
    (
        "demo-out-user-folder",
        ["demo", "--out", "user_demo", "--no-summaries"],
        "user_demo is not empty and was not written by emerge",
    ),
    ("demo-trainer-config-missing", ["demo", "--out", "d1", "--trainer-config", "nope.yaml"], "nope.yaml"),
]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(("argv", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(ws, argv, expected, capsys, monkeypatch):
    monkeypatch.chdir(ws)
    monkeypatch.setenv("EMERGE_CACHE", str(ws / "cache"))
    (ws / RAG_FRESH).mkdir(exist_ok=True)
    users = {name: _snapshot(ws / name) for name in os.listdir(ws) if name.startswith("user_")}
    mine = (ws / "mine.jsonl").read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    assert "Traceback" not in err
    assert expected in err, err
    assert {name: _snapshot(ws / name) for name in users} == users  # nothing of the user's changed
    assert (ws / "mine.jsonl").read_bytes() == mine


def test_the_table_covers_every_command_group():
    groups = {argv[0] for _, argv, _ in CASES}
    assert {"data", "kg", "retriever", "llm", "rag", "run", "demo"} <= groups and len(CASES) >= 40
