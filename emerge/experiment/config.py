"""One experiment as one YAML file: data, KG, RAG summaries, text encoder, trainer, tasks, models.

`emerge run --config NAME_OR_PATH [--set a.b=value ...]` and `emerge demo` both read an
`ExperimentConfig` (`load_experiment`). The shipped configs are package data (`emerge/configs/`,
linked as `configs/` at the top of the repository) and resolve by name from any working folder:
`--config demo` is `experiment/demo.yaml`; files an experiment names (`model/ts_only.yaml`,
`trainer/default.yaml`, `llm/smollm2.yaml`) resolve the same way; a path that exists is used as it
is. `resolve()` loads and validates every file, so a typo in any of them is reported before hours of
work start (and a test resolves every shipped experiment).

    name: mimic_iv_mortality
    data:   {source: mimic, root: null, build: {version: iv, ...}}   # or source: synthetic
    kg:     {source: starter}                                         # or primekg / bios / folder + path
    rag:    {enabled: true, llm: llm/smollm2.yaml, linker_device: auto, settings: {task: mortality, ...}}
    text:   {encoder: default, device: auto, max_chunks: 16}
    trainer: trainer/default.yaml
    tasks:  [mortality]
    models: [model/ts_only.yaml, model/emerge_full.yaml]
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from emerge.data.config import BuildConfig
from emerge.rag.stage import RagSettings
from foundation.config_io import load_yaml_mapping, validation_message
from foundation.errors import UserInputError

__all__ = [
    "CONFIGS",
    "ExperimentConfig",
    "ResolvedExperiment",
    "config_path",
    "reads",
    "load_experiment",
    "apply_overrides",
    "experiment_path",
]

CONFIGS = Path(str(resources.files("emerge") / "configs"))
"""The shipped configs (package data): experiment/, model/, trainer/, llm/, retriever/."""


def reads(model_config: Any, modality: str) -> bool:
    """Whether the architecture of `model_config` reads "notes" or "summary" (its class's `requires`)."""
    from emerge.models.registry import get_model_class

    return modality in get_model_class(model_config.variant).requires


def config_path(value: str | os.PathLike, what: str) -> Path:
    """A path that exists (absolute, or from the working folder), else a shipped config: `value` under the
    package's configs/ (`model/ts_only.yaml`), with ".yaml" added when it is missing."""
    path = Path(value).expanduser()
    candidates = [path, CONFIGS / path]
    if path.suffix != ".yaml":
        candidates.append(CONFIGS / f"{path}.yaml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    example = {"model config": "model/emerge_full.yaml", "LLM config": "llm/smollm2.yaml"}.get(
        what, "trainer/default.yaml"
    )
    raise UserInputError(
        f"{what} file {str(value)!r} not found (looked in the working folder and in {CONFIGS}); "
        f"give a path such as {example}"
    )


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SyntheticSettings(_Section):
    """The synthetic cohort (`emerge data synth`): how many ICU stays, which seed."""

    stays: int = Field(2000, ge=50)
    seed: int = 0


class DataSection(_Section):
    """Where the EHR data comes from. `root` (MIMIC only) can be left null and given as `--root`.

    `note_root` (or `--note-root`): the folder of the note tables, e.g. MIMIC-IV-Note's
    `.../mimic-iv-note/2.2/note`; null looks in root's note/ (MIMIC-III: root), then beside a
    PhysioNet-layout root (`emerge.data.sources`).
    """

    source: Literal["synthetic", "mimic"] = "synthetic"
    root: str | None = None
    note_root: str | None = None
    build: BuildConfig = BuildConfig()
    synthetic: SyntheticSettings = SyntheticSettings()


class KGSection(_Section):
    """starter (built offline from bundled ontologies), primekg (kg.csv, plus `features`: the folder of
    disease_features.tab / drug_features.tab), bios (folder) or folder (written by `emerge kg import`,
    `emerge kg build-starter` or KnowledgeGraph.save)."""

    source: Literal["starter", "primekg", "bios", "folder"] = "starter"
    path: str | None = None
    features: str | None = None

    @model_validator(mode="after")
    def _path_given(self) -> KGSection:
        if self.source != "starter" and not self.path:
            raise ValueError(f"kg.source {self.source!r} needs kg.path (the file or folder to read)")
        if self.features is not None and self.source != "primekg":
            raise ValueError(
                f"kg.features is only read for kg.source 'primekg' (got {self.source!r}); remove kg.features"
            )
        return self


def _device(value: str) -> str:
    """A device option checked when the config is read: auto | cpu | cuda | cuda:N (drehr.model.device)."""
    from drehr.model.device import check_device

    return check_device(value)


class RagSection(_Section):
    """The RAG stage: entities -> KG links -> knowledge -> LLM summary (see emerge.rag.stage).

    `linker_device`: where the linker encoder runs ("auto": a CUDA GPU when one is visible, else the CPU;
    "cpu", "cuda", "cuda:N"). The LLM's device is its own config's (`llm:`).
    `summaries`: "per_task" (EMERGE: a summary written for each task, and each task's models read their
    task's summary; a `multitask` entry reads the generic one) or "one" (a single summary for
    `settings.task`, read by every task's models).
    """

    enabled: bool = True
    llm: str = "llm/smollm2.yaml"
    linker_encoder: str = "default"
    linker_device: str = "auto"
    summaries: Literal["per_task", "one"] = "per_task"
    settings: RagSettings = RagSettings()

    _check_device = field_validator("linker_device")(_device)

    @model_validator(mode="after")
    def _one_task_source(self) -> RagSection:
        if self.summaries == "per_task" and self.settings.task != "generic":
            raise ValueError(
                f"rag.settings.task is {self.settings.task!r} but rag.summaries is 'per_task' (each task "
                "gets its own summary); remove rag.settings.task, or set rag.summaries: one to use a "
                "single summary"
            )
        return self


class TextSection(_Section):
    """The frozen encoder of notes and summaries: "default" (bundled MiniLM) or a BiEncoder folder.

    `device`: where it encodes ("auto": a CUDA GPU when one is visible, else the CPU; "cpu", "cuda",
    "cuda:N"), in float32 on every device (`drehr.model.device`).
    """

    encoder: str = "default"
    device: str = "auto"
    max_chunks: int = Field(16, ge=1)

    _check_device = field_validator("device")(_device)


class ExperimentConfig(_Section):
    """A whole experiment (module docstring). `out` defaults to runs/<name>."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    out: str | None = None
    data: DataSection = DataSection()
    kg: KGSection = KGSection()
    rag: RagSection = RagSection()
    text: TextSection = TextSection()
    trainer: str = "trainer/default.yaml"
    tasks: tuple[str, ...] = Field(("mortality",), min_length=1)
    models: tuple[str, ...] = Field(min_length=1)
    seeds: int | tuple[int, ...] = Field(1, description="N: N seeds from the trainer's seed on; or a list")
    reference: str | None = Field(
        "ts_only", description="the model every other is compared with; null: no comparisons"
    )

    @field_validator("seeds")
    @classmethod
    def _valid_seeds(cls, seeds: int | tuple[int, ...]) -> int | tuple[int, ...]:
        if isinstance(seeds, int):
            if seeds < 1:
                raise ValueError(f"seeds must be a count >= 1 or a list of seeds, got {seeds}")
            return seeds
        if not seeds or len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
            raise ValueError(f"seeds must be distinct non-negative integers, got {list(seeds)}")
        return seeds

    def seed_list(self, trainer_seed: int) -> tuple[int, ...]:
        """The training seeds: a count N gives trainer_seed, trainer_seed + 1, ... (N of them)."""
        if isinstance(self.seeds, int):
            return tuple(trainer_seed + i for i in range(self.seeds))
        return tuple(self.seeds)

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, tasks: tuple[str, ...]) -> tuple[str, ...]:
        from emerge.tasks import MULTITASK, task_names

        unknown = [t for t in tasks if t != MULTITASK and t not in task_names()]
        if unknown:
            raise ValueError(f"unknown task(s) {unknown}; registered: {list(task_names())} or {MULTITASK!r}")
        return tasks

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, sets: Sequence[str] = ()) -> ExperimentConfig:
        """Read an experiment file; `sets` are `a.b=value` overrides applied to its fields first."""
        path = Path(path)
        body = load_yaml_mapping(
            path, "experiment config", f"the shipped ones are in {CONFIGS / 'experiment'}"
        )
        body = apply_overrides(body, sets)
        try:
            return cls(**body)
        except ValidationError as exc:
            source = f"{path}{' with ' + ', '.join(sets) if sets else ''}"
            raise UserInputError(validation_message(exc, source, "experiment config")) from exc

    def output_dir(self) -> Path:
        return Path(self.out) if self.out else Path("runs") / self.name

    def resolve(self) -> ResolvedExperiment:
        """Load every file the experiment names; errors name the file and the bad field."""
        from emerge.llm.config import load_llm_config
        from emerge.models.config import ModelConfig
        from emerge.training.config import TrainerConfig

        models: dict[str, ModelConfig] = {}
        for entry in self.models:
            model = ModelConfig.from_yaml(config_path(entry, "model config"))
            if model.display_name in models:
                raise UserInputError(
                    f"two model configs of {self.name} are both named {model.display_name!r}; "
                    "give one a distinct `name:`"
                )
            models[model.display_name] = model
        if (
            self.reference is not None
            and self.reference not in models
            and "reference" in self.model_fields_set
        ):
            raise UserInputError(
                f"reference {self.reference!r} of {self.name} is not one of its models {sorted(models)}; "
                "list its model config under models:, name another one, or set reference: null"
            )
        trainer = TrainerConfig.from_yaml(config_path(self.trainer, "trainer config"))
        names = sorted(n for n, m in models.items() if reads(m, "summary"))
        if names and not self.rag.enabled:
            raise UserInputError(
                f"models {names} read the RAG summary but rag.enabled is false in {self.name}; "
                "enable the RAG stage or drop those models"
            )
        llm = load_llm_config(config_path(self.rag.llm, "LLM config")) if self.rag.enabled else None
        return ResolvedExperiment(self, models, trainer, llm)


def apply_overrides(body: dict[str, Any], sets: Sequence[str]) -> dict[str, Any]:
    """A copy of `body` with each `a.b.c=value` set (the value read as YAML: 3, true, [a, b], text).

    A path through a value that is not a mapping is an error naming the setting; unknown final keys are
    caught by the config's validation, which names them.
    """
    body = copy.deepcopy(body)
    for item in sets:
        import yaml

        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise UserInputError(f"--set {item!r} is not KEY=VALUE (e.g. --set data.synthetic.stays=400)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise UserInputError(f"--set {item!r}: the value is not valid YAML ({exc})") from exc
        node = body
        for depth, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserInputError(
                    f"--set {item!r}: {'.'.join(parts[: depth + 1])} is not a section of settings"
                )
        node[parts[-1]] = value
    return body


def experiment_path(value: str | os.PathLike) -> Path:
    """An experiment file: a path, or the name of a shipped one (`demo`, `mimic_iv_mortality`)."""
    path = Path(value).expanduser()
    if path.is_file():
        return path
    shipped = CONFIGS / "experiment" / (path.name if path.suffix == ".yaml" else f"{path.name}.yaml")
    if path.parent == Path(".") and shipped.is_file():
        return shipped
    names = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))
    raise UserInputError(
        f"experiment config {str(value)!r} not found; pass a YAML file or the name of a shipped "
        f"experiment: {', '.join(names)}"
    )


def load_experiment(value: str | os.PathLike, sets: Sequence[str] = ()) -> ExperimentConfig:
    """The experiment named or pointed at by `value`, with `sets` (`a.b=value`) applied."""
    return ExperimentConfig.from_yaml(experiment_path(value), sets)


@dataclass(frozen=True)
class ResolvedExperiment:
    """An `ExperimentConfig` with the model, trainer and LLM configs it names loaded."""

    config: ExperimentConfig
    models: dict[str, Any]
    trainer: Any
    llm: Any | None

    @property
    def needs_summaries(self) -> bool:
        return self.config.rag.enabled and any(reads(m, "summary") for m in self.models.values())

    @property
    def needs_notes(self) -> bool:
        return any(reads(m, "notes") for m in self.models.values())
