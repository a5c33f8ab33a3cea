"""hh_notebook: HappyHorse video generation in Jupyter."""
from __future__ import annotations

__version__ = "0.1.0"
