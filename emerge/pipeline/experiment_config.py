"""One experiment as one YAML file: data, KG, RAG summaries, text encoder, trainer, tasks, models.

`emerge run --config configs/experiment/<name>.yaml` and `emerge demo` both read an
`ExperimentConfig`. Files it names (model, trainer and LLM configs) are paths relative to the
`configs/` folder of this project, or absolute. `resolve()` loads and validates every one of them,
so a typo in any file is reported before hours of work start (and a test resolves every shipped
experiment).

    name: mimic_iv_mortality
    data:   {source: mimic, root: null, build: {version: iv, ...}}   # or source: synthetic
    kg:     {source: starter}                                         # or primekg / bios / folder + path
    rag:    {enabled: true, llm: llm/smollm2.yaml, settings: {task: mortality, ...}}
    text:   {encoder: default, max_chunks: 16}
    trainer: trainer/default.yaml
    tasks:  [mortality]
    models: [model/ts_only.yaml, model/emerge_full.yaml]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from emerge.data.config import BuildConfig
from emerge.rag.stage import RagSettings
from foundation.config_io import load_yaml_mapping, validation_message
from foundation.errors import UserInputError

__all__ = ["CONFIGS", "ExperimentConfig", "ResolvedExperiment", "config_path", "reads"]

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def reads(model_config: Any, modality: str) -> bool:
    """Whether the architecture of `model_config` reads "notes" or "summary" (its class's `requires`)."""
    from emerge.models.registry import get_model_class

    return modality in get_model_class(model_config.variant).requires


def config_path(value: str | os.PathLike, what: str) -> Path:
    """An absolute path, a path that exists from the working folder, or one relative to configs/."""
    path = Path(value).expanduser()
    for candidate in (path, CONFIGS / path):
        if candidate.is_file():
            return candidate.resolve()
    example = {"model config": "model/emerge_full.yaml", "LLM config": "llm/smollm2.yaml"}.get(what,
                                                                                               "trainer/default.yaml")
    raise UserInputError(f"{what} file {str(value)!r} not found (looked in the working folder and in {CONFIGS}); "
                         f"give a path such as {example}")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SyntheticSettings(_Section):
    """The synthetic cohort (`emerge data synth`): how many ICU stays, which seed."""

    stays: int = Field(2000, ge=50)
    seed: int = 0


class DataSection(_Section):
    """Where the EHR data comes from. `root` (MIMIC only) can be left null and given as `--root`."""

    source: Literal["synthetic", "mimic"] = "synthetic"
    root: str | None = None
    build: BuildConfig = BuildConfig()
    synthetic: SyntheticSettings = SyntheticSettings()


class KGSection(_Section):
    """starter (built offline from bundled ontologies), primekg (kg.csv), bios (folder) or folder
    (written by KnowledgeGraph.save)."""

    source: Literal["starter", "primekg", "bios", "folder"] = "starter"
    path: str | None = None

    @model_validator(mode="after")
    def _path_given(self) -> KGSection:
        if self.source != "starter" and not self.path:
            raise ValueError(f"kg.source {self.source!r} needs kg.path (the file or folder to read)")
        return self


class RagSection(_Section):
    """The RAG stage: entities -> KG links -> knowledge -> LLM summary (see emerge.rag.stage)."""

    enabled: bool = True
    llm: str = "llm/smollm2.yaml"
    linker_encoder: str = "default"
    settings: RagSettings = RagSettings()


class TextSection(_Section):
    """The frozen encoder of notes and summaries: "default" (bundled MiniLM) or a BiEncoder folder."""

    encoder: str = "default"
    max_chunks: int = Field(16, ge=1)


class ExperimentConfig(_Section):
    """A whole experiment (module docstring). `out` defaults to runs/<name>."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    out: str | None = None
    data: DataSection = DataSection()
    kg: KGSection = KGSection()
    rag: RagSection = RagSection()
    text: TextSection = TextSection()
    trainer: str = "trainer/default.yaml"
    tasks: tuple[Literal["mortality", "readmission", "multitask"], ...] = Field(("mortality",), min_length=1)
    models: tuple[str, ...] = Field(min_length=1)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **overrides: Any) -> ExperimentConfig:
        """Read an experiment; `overrides` replace top-level sections after validation ("data", "out", ...)."""
        path = Path(path)
        body = load_yaml_mapping(path, "experiment config", f"the shipped ones are in {CONFIGS / 'experiment'}")
        try:
            config = cls(**body)
            return cls(**{**config.model_dump(), **overrides}) if overrides else config
        except ValidationError as exc:
            raise UserInputError(validation_message(exc, str(path), "experiment config")) from exc

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
                raise UserInputError(f"two model configs of {self.name} are both named {model.display_name!r}; "
                                     "give one a distinct `name:`")
            models[model.display_name] = model
        trainer = TrainerConfig.from_yaml(config_path(self.trainer, "trainer config"))
        names = sorted(n for n, m in models.items() if reads(m, "summary"))
        if names and not self.rag.enabled:
            raise UserInputError(f"models {names} read the RAG summary but rag.enabled is false in {self.name}; "
                                 "enable the RAG stage or drop those models")
        llm = load_llm_config(config_path(self.rag.llm, "LLM config")) if self.rag.enabled else None
        return ResolvedExperiment(self, models, trainer, llm)


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
