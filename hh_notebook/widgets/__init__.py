"""Notebook widgets: the live job widget and the playground form."""

from __future__ import annotations

from .job import JobWidget
from .playground import Playground

__all__ = ["JobWidget", "Playground"]
