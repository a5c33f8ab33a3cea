"""Provider translations: one module per provider, one shared interface.

>>> get_provider("segmind").name
'segmind'
"""

from __future__ import annotations

from .. import catalog
from ..errors import ConfigError
from .apiframe import ApiframeProvider
from .base import TERMINAL_STATUSES, HttpCall, JobState, ListedTask, Provider, Status
from .hiapi import HiAPIProvider
from .openai_style import OpenAIStyleProvider
from .segmind import SegmindProvider

__all__ = [
    "PROVIDER_NAMES",
    "TERMINAL_STATUSES",
    "ApiframeProvider",
    "HiAPIProvider",
    "HttpCall",
    "JobState",
    "ListedTask",
    "OpenAIStyleProvider",
    "Provider",
    "SegmindProvider",
    "Status",
    "get_provider",
]

_CLASSES: dict[str, type[Provider]] = {
    "segmind": SegmindProvider,
    "apiframe": ApiframeProvider,
    "hiapi": HiAPIProvider,
    "openai": OpenAIStyleProvider,
}

#: Provider names in the order used to pick one from the environment.
PROVIDER_NAMES: tuple[str, ...] = catalog.PROVIDERS


def get_provider(name: str) -> Provider:
    """The provider translation for ``name`` (``segmind``, ``apiframe``, ``hiapi``, ``openai``)."""
    try:
        return _CLASSES[name.lower()]()
    except (KeyError, AttributeError):
        raise ConfigError(
            f"unknown provider {name!r}; choose one of {', '.join(PROVIDER_NAMES)}"
        ) from None
