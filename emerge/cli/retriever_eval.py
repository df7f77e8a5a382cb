"""`emerge retriever build-cliniq | eval | eval-icd10 | index | search`; each is added to the `retriever`
group in emerge/cli/retriever.py.

Thin wrappers: parse options, load the encoder (or the retriever folder), call one importable function
(drehr.evaluation.cliniq_corpus, drehr.evaluation.suite, drehr.index.build_chunk_index, drehr.Retriever),
print JSON.
"""

from __future__ import annotations

import json

import click

from emerge.cli.kg import device_option

__all__ = ["COMMANDS", "load_encoder"]


def load_encoder(model: str, device: str = "auto"):
    """`drehr.model.BiEncoder.from_pretrained(model, device=device)`; `model` is a saved folder or "default"
    (bundled MiniLM), `device` auto | cpu | cuda | cuda:N."""
    from drehr.model import BiEncoder

    return BiEncoder.from_pretrained(model, device=device)


_device = device_option("the encoder")


_model = click.option(
    "--model", required=True, help='A saved BiEncoder folder, or "default" (bundled MiniLM).'
)
_batch = click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1))


@click.command(name="build-cliniq")
@click.option(
    "--noteevents",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="MIMIC-III's NOTEEVENTS.csv or NOTEEVENTS.csv.gz.",
)
@click.option(
    "--hadm-ids",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="CliniQ's benchmark/test_hadm_ids.txt (one HADM_ID a line).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="corpus.jsonl to write, beside CliniQ's queries and qrels; never over a file emerge did not write.",
)
def build_cliniq_command(noteevents: str, hadm_ids: str, out: str) -> None:
    """Rebuild CliniQ's corpus.jsonl from MIMIC-III as CliniQ's preprocess.py does; print counts as JSON."""
    from drehr.evaluation.cliniq_corpus import build_cliniq_corpus

    click.echo(json.dumps(build_cliniq_corpus(noteevents, hadm_ids, out), indent=2))


@click.command(name="eval")
@_model
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) or a CliniQ folder.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["auto", "beir", "cliniq"]), default="auto", show_default=True
)
@click.option("--split", default="test", show_default=True, help="BEIR qrels split (qrels/<split>.tsv).")
@click.option(
    "--baselines/--no-baselines", default=True, show_default=True, help="Also run BM25 and BM25+dense RRF."
)
@_batch
@_device
def eval_command(
    model: str, data: str, fmt: str, split: str, baselines: bool, batch_size: int, device: str
) -> None:
    """Evaluate a retriever on BEIR or CliniQ data; print the metrics as JSON."""
    from drehr.evaluation.suite import run_retrieval_eval

    result = run_retrieval_eval(load_encoder(model, device), data, fmt, batch_size, baselines, split)
    click.echo(json.dumps(result, indent=2))


@click.command(name="eval-icd10")
@_model
@click.option(
    "--rephrasings",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help='JSONL of {"code", "description", "rephrasings": [...]}; default: ICD-10-CM inclusion terms.',
)
@click.option(
    "--candidates",
    type=click.Choice(["file", "billable"]),
    default="file",
    show_default=True,
    help="Retrieve among the query codes, or among all billable ICD-10-CM codes.",
)
@click.option(
    "--limit",
    default=300,
    show_default=True,
    type=click.IntRange(1),
    help="Codes sampled for the inclusion-term queries.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@_batch
@_device
def eval_icd10_command(
    model: str,
    rephrasings: str | None,
    candidates: str,
    limit: int,
    seed: int,
    batch_size: int,
    device: str,
) -> None:
    """The ICD-10-CM semantic search benchmark (arXiv:2401.01943); print JSON."""
    from drehr.evaluation.suite import run_icd10_eval

    result = run_icd10_eval(load_encoder(model, device), rephrasings, candidates, limit, seed, batch_size)
    click.echo(json.dumps(result, indent=2))


@click.command(name="index")
@_model
@click.option(
    "--chunks",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Parquet or JSONL with chunk_id, patient_id, text.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write the retriever to (encoder, index, chunk texts).",
)
@click.option("--kind", type=click.Choice(["auto", "flat", "ivf", "hnsw"]), default="auto", show_default=True)
@click.option("--nprobe", type=click.IntRange(1), default=None, help="IVF cells visited per query.")
@_batch
@_device
def index_command(
    model: str, chunks: str, out: str, kind: str, nprobe: int | None, batch_size: int, device: str
) -> None:
    """Encode chunks and save a retriever folder (encoder + index + texts); print a JSON summary."""
    from drehr.index import build_chunk_index

    result = build_chunk_index(load_encoder(model, device), chunks, out, kind, batch_size, nprobe)
    click.echo(json.dumps(result, indent=2))


@click.command(name="search")
@click.option(
    "--retriever",
    "directory",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="A folder written by `emerge retriever index` (or drehr.Retriever.save).",
)
@click.option(
    "--query", "queries", required=True, multiple=True, help="Query text; repeat for several queries."
)
@click.option(
    "--patient",
    "patients",
    multiple=True,
    help="Search only this patient's chunks; repeat to restrict to several patients (default: all).",
)
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(1), help="Hits per query.")
@device_option("the query encoder")
def search_command(
    directory: str, queries: tuple[str, ...], patients: tuple[str, ...], k: int, device: str
) -> None:
    """Search a retriever folder; print one JSON line per hit (query, rank, chunk_id, patient_id,
    score, text)."""
    from drehr.retriever import Retriever

    selected = None if not patients else patients[0] if len(patients) == 1 else list(patients)
    hits = Retriever.load(directory, device=device).search(list(queries), patients=selected, k=k)
    for row in hits.select("query", "rank", "chunk_id", "patient_id", "score", "text").iter_rows(named=True):
        click.echo(json.dumps(row))


COMMANDS: list = [build_cliniq_command, eval_command, eval_icd10_command, index_command, search_command]
