"""Putting a view into the running cell's output, whichever notebook runs the cell.

A Jupyter kernel (JupyterLab, Notebook 7, VS Code, Voilà) displays through IPython's
``display``, with a display id when the view wants to refresh its saved output later. marimo
has no IPython display: the view is appended to the cell's output (``marimo.output.append``),
and marimo renders anywidget instances natively, so the same widget object serves both.
A marimo cell whose last expression is the view shows it once, not twice: marimo's last
expression replaces what was appended.
"""

from __future__ import annotations

from typing import Any

from ..runtime import in_marimo

__all__ = ["display_view"]


def display_view(view: Any, *, refreshable: bool = False) -> Any:
    """Show ``view`` below the running cell; return IPython's display handle when
    ``refreshable`` (None in marimo, where a widget updates itself and has no saved output)."""
    if in_marimo():
        import marimo

        marimo.output.append(view)
        return None
    from IPython.display import display

    if refreshable:
        return display(view, display_id=True)
    display(view)
    return None
