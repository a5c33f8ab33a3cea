"""``hh.show``: a job, a request, a sweep (or its result) or a storyboard, shown the way the
place allows — a live widget in a Jupyter kernel or a marimo notebook, a text progress
line elsewhere.

This is the notebook face the core reaches through
:func:`hh_notebook.runtime.show_in_notebook` (``Sweep.show()``, ``SweepResult.show()``).

>>> job = show("a white horse on a beach", duration=5, seed=7)   # doctest: +SKIP
happyhorse: done · 100% · elapsed 4s · done: 3f2a….mp4
"""

from __future__ import annotations

from typing import Any

from ..client import default_client
from ..present import TextProgress
from ..runtime import in_kernel, run_blocking
from ..storyboard import Storyboard, StoryboardResult
from ..sweep import Sweep, SweepResult
from .grid import SweepGrid
from .job import JobWidget
from .output import display_view
from .storyboard import StoryboardWidget

__all__ = ["show"]


def show(obj: Any, *, client: Any = None, **params: Any) -> Any:
    """Show ``obj`` and return its view.

    A :class:`~hh_notebook.sweep.Sweep` or :class:`~hh_notebook.sweep.SweepResult` gets its
    comparison grid (``rating_scale="stars"|"thumbs"``); a storyboard (or its result) its
    :class:`~hh_notebook.widgets.storyboard.StoryboardWidget` strip. A
    :class:`~hh_notebook.jobs.Job` gets a live :class:`~hh_notebook.widgets.job.JobWidget` in a
    kernel or a marimo notebook and a :class:`~hh_notebook.present.TextProgress` line
    elsewhere. A request or a prompt (with
    request fields as keyword arguments) is submitted first with ``client`` (default: the
    default client); in plain Python it is then followed to its end and the finished job is
    returned.
    """
    if isinstance(obj, (Sweep, SweepResult)):
        return _show_sweep(obj, **params)
    if isinstance(obj, (Storyboard, StoryboardResult)):
        if params:
            raise TypeError(f"show() got request fields {sorted(params)} with a storyboard")
        return StoryboardWidget(obj).show()
    job = obj
    if not hasattr(job, "subscribe"):
        client = client if client is not None else default_client()
        job = run_blocking(client.submit(job, **params))
        if not in_kernel():
            return _follow_in_text(job)
    elif params:
        raise TypeError(f"show() got request fields {sorted(params)} with a job")
    if in_kernel():
        widget = JobWidget(job, client=client)
        display_view(widget)
        return widget
    job.subscribe(TextProgress())
    return job


def _follow_in_text(job: Any) -> Any:
    progress = TextProgress()
    progress.update("queued", message=f"{job.request.mode.label} on {job.provider}")
    job.subscribe(progress)
    run_blocking(job.wait())
    if not progress.closed:  # ended before any event reached the line
        progress.finish(job)
    return job


def _show_sweep(obj: Sweep | SweepResult, *, rating_scale: str = "stars") -> SweepGrid:
    grid = SweepGrid.from_sweep(obj, rating_scale=rating_scale)
    display_view(grid)
    return grid
