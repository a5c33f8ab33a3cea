"""Putting a view into the running cell's output, whichever notebook runs the cell.

A Jupyter kernel (JupyterLab, Notebook 7, VS Code, Voilà) displays through IPython's
``display``, with a display id when the view wants to refresh its saved output later. marimo
has no IPython display: the view is appended to the cell's output (``marimo.output.append``),
and marimo renders anywidget instances natively, so the same widget object serves both.
A marimo cell whose last expression is the view shows it once, not twice: marimo's last
expression replaces what was appended.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import anywidget

from ..runtime import in_marimo

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["SavedView", "display_view"]


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


class SavedView(anywidget.AnyWidget):  # type: ignore[misc]
    """An anywidget whose saved output still reads without a kernel.

    A notebook keeps a widget's ``text/html`` part beside its view: here that is
    :meth:`static_html`, so the file opened on GitHub, in nbconvert's HTML or in a notebook
    without the kernel shows the clip's poster, the grid's table, the board's shots.
    :meth:`show` displays the widget and remembers where, and :meth:`_update_displays` rewrites
    those saved outputs once the view's state settles (a job ends, a scene is stitched).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handles: list[Any] = []

    def static_html(self) -> str:
        """The view as plain HTML (every subclass says what it shows)."""
        raise NotImplementedError

    def _saved_html(self) -> str:
        return self.static_html()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle: Any = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        if isinstance(data, dict):
            data = {**data, "text/html": self._saved_html()}
        return data, metadata

    def show(self) -> Self:
        """Display the widget below the running cell and remember where, so that its saved
        output is refreshed when its state settles; returns the widget."""
        handle = display_view(self, refreshable=True)
        if handle is not None:
            self._handles.append(handle)
        return self

    def _update_displays(self) -> None:
        for handle in self._handles:
            with contextlib.suppress(Exception):  # a closed or cleared output
                handle.update(self)
