"""`emerge kg ...` subcommands. Thin wrappers: parse options, call one importable function."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = [
    "group",
    "COMMANDS",
    "device_option",
    "encoder_fn",
    "open_kg",
    "link_mentions_file",
    "import_graph",
]


def _checked_device(ctx, param, value: str) -> str:
    from drehr.model.device import check_device

    return check_device(value)


def device_option(what: str):
    """The `--device` option of every command that encodes text (`drehr.model.device`; a bad value is a
    `UserInputError` listing the valid ones, `cuda` without a GPU one when the encoder is loaded)."""
    return click.option(
        "--device",
        default="auto",
        show_default=True,
        callback=_checked_device,
        help=f"Where {what} runs: auto (a CUDA GPU when one is visible, else the CPU), cpu, cuda or cuda:N.",
    )


def encoder_fn(model: str = "default", device: str = "auto"):
    """A DR.EHR `BiEncoder` ("default": the bundled all-MiniLM-L6-v2, or a trained model folder) on `device`
    as an encoder callable texts -> float32 (n, d) with unit rows, plus its fingerprint (the linker cache
    key)."""
    from drehr.model import load_sentence_encoder

    encoder = load_sentence_encoder(model, device=device)

    def encode(texts: list[str]):
        return encoder.encode(list(texts), batch_size=128)

    encode.fingerprint = encoder.fingerprint
    return encode


def open_kg(kg: str):
    """ "starter" (the cached starter KG) or a directory written by KnowledgeGraph.save (or `kg import`)."""
    from kg.loading import open_graph_spec

    return open_graph_spec(kg)


def link_mentions_file(
    kg: str,
    mentions: Path,
    out: Path | None,
    threshold: float,
    types: str | None,
    cache_dir: Path | None = None,
    model: str = "default",
    device: str = "auto",
) -> list[dict]:
    """Link one mention per line of `mentions`; write JSON lines to `out` (or return them).

    The linker's dense index is cached under `cache_dir` (default: $EMERGE_CACHE/linkers), keyed by the
    graph's content, the encoder and the types: never inside the KG folder, which stays as it was saved.
    """
    from foundation.artifacts import cache_root
    from foundation.errors import UserInputError
    from foundation.inputs import read_text_file
    from foundation.outputs import check_output_file, write_owned_text
    from kg.linking import cached_linker

    if out is not None:
        check_output_file(out, "--out")
    lines = [line.strip() for line in read_text_file(mentions, "mentions file").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise UserInputError(
            f"mentions file {mentions} holds no mention; write one mention per line "
            f"(e.g. 'high blood pressure')"
        )
    encode = encoder_fn(model, device)
    graph = open_kg(kg)
    root = cache_dir or cache_root() / "linkers"
    linker = cached_linker(graph, encode, root, encode.fingerprint, threshold=threshold, types=types)
    records = linker.link(lines)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_owned_text(out, text, "--out")
    return records


def import_graph(source: str, path: Path, out: Path, features: Path | None = None):
    """Read PrimeKG's kg.csv (+ its features folder) or a BIOS folder and save it as a KG folder `out`.

    `out` is checked before the read (PrimeKG's 8.1M rows take about a minute) and written with
    `KnowledgeGraph.save`, which refuses a folder emerge did not write."""
    import polars as pl

    from foundation.outputs import ensure_replaceable
    from kg.graph import KIND
    from kg.loading import load_graph

    ensure_replaceable(out, KIND, "--out")
    graph = load_graph(source, path, features=features)
    graph.save(out)

    def has(column: str) -> pl.Expr:
        return pl.col(column).fill_null("").str.len_chars() > 0

    documents = graph.nodes.select((has("definition") | has("description")).sum()).item()
    skipped = {k: v for k, v in graph.build_report.items() if v}
    click.echo(
        f"saved {graph!r} to {out}: {documents} nodes with a document"
        + (f"; skipped or merged: {skipped}" if skipped else "")
    )
    return graph


@click.group(name="kg")
def group() -> None:
    """Knowledge graphs: build the starter KG, import PrimeKG or BIOS, stats, entity linking."""


@group.command("build-starter")
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder to save the starter KG in."
)
@click.option(
    "--with-icd10-extensions", is_flag=True, help="Keep ICD-10-CM 7th-character codes (+51k nodes)."
)
@click.option("--no-icd9", is_flag=True, help="Leave out ICD-9-CM codes.")
@click.option("--primekg-csv", is_flag=True, help="Also write OUT/kg.csv in PrimeKG's twelve columns.")
def build_starter(out: Path, with_icd10_extensions: bool, no_icd9: bool, primekg_csv: bool) -> None:
    """Build the starter KG offline (HPO, OMIM/Orphanet, ICD-10-CM, ICD-9-CM) and save it to OUT."""
    from foundation.outputs import cached_step, ensure_replaceable
    from kg.graph import FORMAT_VERSION, KIND
    from kg.readers.primekg import to_primekg_frame
    from kg.starter import StarterSettings, load_starter_kg

    ensure_replaceable(out, KIND, "--out")  # before the build, not after it

    def write(folder: Path) -> dict:
        # built once per settings and cached ($EMERGE_CACHE/starter_kg); this copies it into --out
        graph = load_starter_kg(
            settings=StarterSettings(include_icd10_extensions=with_icd10_extensions, include_icd9=not no_icd9)
        )
        info = graph.write_into(folder)
        if primekg_csv:
            to_primekg_frame(graph).write_csv(folder / "kg.csv")
        click.echo(f"saved {graph!r} to {out}")
        return info

    cached_step(out, KIND, FORMAT_VERSION, None, write, force=True, what="--out")


@group.group("import")
def import_group() -> None:
    """Read a published KG (PrimeKG, BIOS) as its users have it and save it as a KG folder (for --kg DIR)."""


_OUT = click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder to save the KG in (new or empty)."
)


@import_group.command("primekg")
@click.option("--kg-csv", type=click.Path(path_type=Path), required=True, help="PrimeKG's kg.csv.")
@click.option(
    "--features-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder holding disease_features.tab and drug_features.tab (or .csv); gives nodes their text.",
)
@_OUT
def import_primekg(kg_csv: Path, features_dir: Path | None, out: Path) -> None:
    """Import PrimeKG (Harvard Dataverse, doi:10.7910/DVN/IXA7BM): node ids are "<x_source>:<x_id>"."""
    import_graph("primekg", kg_csv, out, features=features_dir)


@import_group.command("bios")
@click.option(
    "--dir",
    "bios_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="The BIOS folder DR.EHR uses: CUI2term.json, term2CUI.json, CUI2pt.json, is_a.json, relations.json.",
)
@_OUT
def import_bios(bios_dir: Path, out: Path) -> None:
    """Import a BIOS folder: concepts named by their preferred term, is_a and related_to edges."""
    import_graph("bios", bios_dir, out)


@group.command("stats")
@click.argument("kg_dir")
def stats(kg_dir: str) -> None:
    """Print node/edge counts of a saved KG (or "starter") as JSON."""
    click.echo(json.dumps(open_kg(kg_dir).stats(), indent=2))


@group.command("link")
@click.option("--kg", "kg_dir", required=True, help='A saved KG folder, or "starter".')
@click.option(
    "--mentions", type=click.Path(path_type=Path), required=True, help="Text file, one mention per line."
)
@click.option(
    "--threshold", type=float, default=0.7, show_default=True, help="Cosine needed to accept a dense match."
)
@click.option("--types", default=None, help='Node types to link to, e.g. "disease,phenotype" (default: all).')
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="JSON-lines output (default: stdout)."
)
@click.option(
    "--model",
    default="default",
    show_default=True,
    help='Encoder: "default" (bundled MiniLM) or a DR.EHR BiEncoder folder (emerge retriever train).',
)
@device_option("the encoder")
def link(
    kg_dir: str,
    mentions: Path,
    threshold: float,
    types: str | None,
    out: Path | None,
    model: str,
    device: str,
) -> None:
    """Link mentions to KG nodes: JSON lines {mention, node_id, node_name, score} (node_id null if none)."""
    link_mentions_file(kg_dir, mentions, out, threshold, types, model=model, device=device)


COMMANDS = [group]
