"""One YAML loader for every config class: errors name the file, the line and the field.

    load_config(TrainerConfig, "configs/trainer/default.yaml")
    -> UserInputError: configs/trainer/default.yaml, line 3, column 9: YAML syntax error (...); fix the file
    -> UserInputError: configs/trainer/default.yaml is not a valid TrainerConfig:
         - lr: Input should be greater than 0 (got -1)

`load_yaml_mapping` reads the file (UTF-8, a mapping at the top level); `load_config` validates it
into a pydantic model, with optional overrides applied on top of the file's values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from foundation.errors import UserInputError

__all__ = ["load_yaml_mapping", "load_config", "validation_message"]

T = TypeVar("T")


def load_yaml_mapping(path: str | os.PathLike, what: str = "config file", hint: str = "") -> dict[str, Any]:
    """The top-level mapping of a YAML file; a missing file, a syntax error or another shape is an error."""
    import yaml

    path = Path(path)
    if path.is_dir():
        raise UserInputError(f"{what} {path} is a folder; pass a YAML file{hint and '. ' + hint}")
    if not path.is_file():
        raise UserInputError(f"{what} {path} not found{hint and '; ' + hint}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserInputError(
            f"{what} {path} is not UTF-8 text (byte at position {exc.start}); save it as UTF-8"
        ) from exc
    except OSError as exc:
        raise UserInputError(f"{what} {path} cannot be read ({exc.strerror}); check its permissions") from exc
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark, context = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        if context is not None and mark is not None and context.line != mark.line:
            where += f" (in what starts on line {context.line + 1})"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserInputError(
            f"{path}{where}: YAML syntax error ({problem}); fix the file (indentation, a "
            f"missing ':' or an unclosed quote or bracket are the usual causes)"
        ) from exc
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise UserInputError(
            f"{what} {path} must hold a mapping of settings (key: value lines), found a {type(body).__name__}"
        )
    return body


def validation_message(exc: Exception, source: str, model: str) -> str:
    """A pydantic `ValidationError` as one line per bad field: `a.b: message (got value)`."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        return f"{source} is not a valid {model}: {exc}"
    lines = []
    for err in errors():
        field = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
        got = err.get("input")
        shown = "" if isinstance(got, dict) or got is None else f" (got {got!r})"
        lines.append(f"  - {field}: {err.get('msg', 'invalid')}{shown}")
    return f"{source} is not a valid {model}:\n" + "\n".join(lines)


def load_config(
    cls: type[T],
    path: str | os.PathLike,
    what: str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    hint: str = "",
) -> T:
    """Validate the YAML file `path` into `cls` (a pydantic model); `overrides` win over the file."""
    from pydantic import ValidationError

    body = load_yaml_mapping(path, what or f"{cls.__name__} file", hint)
    body.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return cls(**body)
    except ValidationError as exc:
        raise UserInputError(validation_message(exc, str(path), cls.__name__)) from exc
    except TypeError as exc:  # e.g. a dataclass-style config given an unknown key
        raise UserInputError(f"{path} is not a valid {cls.__name__}: {exc}") from exc
