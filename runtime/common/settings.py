"""Typed settings read from the environment once, at cold start.

Each function declares a subclass with the fields it needs; ``load()`` validates them and is
cached, so a misconfigured deployment fails on its first invocation with a clear message,
and nothing reads ``os.environ`` at import time.
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from pydantic_settings import BaseSettings, SettingsConfigDict

T = TypeVar("T", bound="FunctionSettings")


class FunctionSettings(BaseSettings):
    """Base of every function's settings: environment variables, case-insensitive, extra ignored."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    stage: str = "dev"


@cache
def load(settings_type: type[T]) -> T:
    """Parse the environment into ``settings_type`` once per container."""
    return settings_type()


def reset() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    load.cache_clear()
