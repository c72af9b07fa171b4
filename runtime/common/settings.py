"""Typed settings read from the environment once, at cold start.

Each function declares a subclass with the fields it needs; ``load()`` validates them and is
cached, so a misconfigured deployment fails on its first invocation with a clear message,
and nothing reads ``os.environ`` at import time.

The reading is ours rather than pydantic-settings': it is the only part of that library these
functions use (a field is the variable of the same name, any case; a field holding a model,
list or dict is given as JSON), and importing the library (its CLI, dotenv and cloud secret
sources) cost every cold start about 25 ms of CPU before any handler ran.
"""

from __future__ import annotations

import json
import os
import types
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from runtime.common.errors import ConfigurationError

T = TypeVar("T", bound="FunctionSettings")

_JSON_CONTAINERS = (dict, list, set, frozenset, tuple)


class FunctionSettings(BaseModel):
    """Base of every function's settings: environment variables, case-insensitive, extra ignored.

    Validators are built on first ``load`` (``defer_build``): a module may declare the settings
    of several functions, and each function builds only the ones it reads.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    stage: str = "dev"

    @classmethod
    def from_environment(cls: type[T]) -> T:
        """Validate the variables named like the fields (any case) into settings; ``load`` caches it."""
        return cls.model_validate(_environment_values(cls))


def _environment_values(settings_type: type[FunctionSettings]) -> dict[str, Any]:
    """The variables named like the model's fields (any case), JSON-decoded where the field is complex."""
    by_name = {name.lower(): value for name, value in os.environ.items()}
    values: dict[str, Any] = {}
    for field_name, field in settings_type.model_fields.items():
        raw = by_name.get(field_name.lower())
        if raw is not None:
            values[field_name] = _decode_json(field_name, raw) if _is_complex(field.annotation) else raw
    return values


def _is_complex(annotation: Any) -> bool:
    """Whether a field's value comes as JSON: a model, a container, or an optional one of those."""
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return any(_is_complex(arg) for arg in get_args(annotation) if arg is not type(None))
    candidate = origin or annotation
    return isinstance(candidate, type) and (issubclass(candidate, BaseModel) or issubclass(candidate, _JSON_CONTAINERS))


def _decode_json(field_name: str, raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {field_name.upper()} must be JSON") from None


@cache
def load(settings_type: type[T]) -> T:
    """Parse the environment into ``settings_type`` once per container."""
    return settings_type.from_environment()


def reset() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    load.cache_clear()
