"""The registry that turns `ModelConfig.variant` strings into model classes.

Each model class registers itself with `@register_model("<variant>")`; a second class under the
same name is refused, so two files can never silently shadow each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from foundation.errors import UserInputError

__all__ = ["MODEL_REGISTRY", "register_model", "get_model_class"]

T = TypeVar("T")

MODEL_REGISTRY: dict[str, type] = {}


def register_model(name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: register `cls` under `name`; raise if the name is taken."""

    def wrap(cls: type[T]) -> type[T]:
        if name in MODEL_REGISTRY:
            raise ValueError(
                f"model name {name!r} is already registered to {MODEL_REGISTRY[name].__qualname__}; "
                f"cannot register {cls.__qualname__} under it. Choose another name."
            )
        MODEL_REGISTRY[name] = cls
        cls.variant = name  # type: ignore[attr-defined]
        return cls

    return wrap


def get_model_class(name: str) -> type:
    """The class registered under `name`, or a `UserInputError` listing the registered names."""
    try:
        return MODEL_REGISTRY[name]
    except KeyError:
        raise UserInputError(
            f"unknown model variant {name!r}; registered: {sorted(MODEL_REGISTRY)}."
        ) from None
