"""`emerge retriever train`: train a DR.EHR bi-encoder from a YAML config and a JSONL file of examples."""

from __future__ import annotations

import click

__all__ = ["train", "COMMANDS"]


@click.command(name="train")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="TrainConfig YAML, e.g. configs/retriever/stage1_minilm.yaml.",
)
@click.option(
    "--data",
    "data_path",
    required=True,
    type=click.Path(dir_okay=False),
    help='JSONL, one {"anchor": str, "positives": [str], "labels": [int]} per line (labels optional).',
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Run folder: checkpoints/, logs/, model/ (the trained BiEncoder), done.json.",
)
@click.option(
    "--resume", is_flag=True, help="Continue from OUT/checkpoints/last.ckpt (a killed or extended run)."
)
@click.option("--base-model", default=None, help="Override base_model of the config (a folder or 'default').")
@click.option("--epochs", type=int, default=None, help="Override epochs of the config.")
def train(
    config_path: str, data_path: str, out_dir: str, resume: bool, base_model: str | None, epochs: int | None
) -> None:
    """Train a BiEncoder; prints the folder of the saved model."""
    from drehr.training import load_train_config, train_retriever
    from emerge.cli import quiet_lightning

    quiet_lightning()

    overrides = {k: v for k, v in {"base_model": base_model, "epochs": epochs}.items() if v is not None}
    config = load_train_config(config_path, **overrides)
    model_dir = train_retriever(config, data_path, out_dir, resume=resume)
    click.echo(str(model_dir))


COMMANDS: list = [train]
