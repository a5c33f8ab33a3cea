"""hh_notebook: HappyHorse video generation in Jupyter."""
from __future__ import annotations

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext hh_notebook``: register the ``%%happyhorse`` / ``%happyhorse`` magics."""
    from .magics import load_ipython_extension as _l

    _l(ipython)
