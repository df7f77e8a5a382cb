"""`emerge retriever train` (emerge/cli/retriever_train.py) on the session's tiny BERT; the training run
under it is tested in tests/drehr/test_train_run.py."""

from __future__ import annotations

import json

from click.testing import CliRunner

from emerge.cli import cli
from tests.helpers.retrieval import EXAMPLES


def test_cli_train(tiny_bert_dir, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(json.dumps({"anchor": e.anchor, "positives": list(e.positives)}) + "\n" for e in EXAMPLES)
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        f"base_model: {tiny_bert_dir}\npooling: cls\nanchors_per_batch: 4\npositives_per_anchor: 2\n"
        "epochs: 1\naccelerator: cpu\ndevices: 1\n"
    )
    result = CliRunner().invoke(
        cli,
        ["retriever", "train", "--config", str(config), "--data", str(data), "--out", str(tmp_path / "run")],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "model" / "drehr_config.json").is_file()
