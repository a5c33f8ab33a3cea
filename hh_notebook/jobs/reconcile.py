"""Finding the task a lost submit created in a provider's task list (pure matching: the
lifecycle fetches the pages and records the outcome)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..providers.base import ListedTask
from .job import Job

__all__ = ["best_match"]


def best_match(job: Job, tasks: Iterable[ListedTask], *, model_id: str | None, window: float,
               owned: Callable[[str], bool]) -> tuple[float, str] | None:
    """(time gap, provider id) of the listed task closest in time to ``job`` that has its
    prompt and model, was created within ``window`` real seconds of it and is not ``owned``
    by another journal job; None when no task fits."""
    best: tuple[float, str] | None = None
    for task in tasks:
        if task.prompt is not None and task.prompt != job.request.prompt:
            continue
        if model_id and task.model and task.model != model_id:
            continue
        if task.created is not None and abs(task.created - job.created_at) > window:
            continue
        if owned(task.provider_job_id):
            continue
        gap = abs((task.created or job.created_at) - job.created_at)
        if best is None or gap < best[0]:
            best = (gap, task.provider_job_id)
    return best
