"""Notebook widgets: the live job widget and the playground form."""

from __future__ import annotations

from .job import JobWidget

__all__ = ["JobWidget"]
