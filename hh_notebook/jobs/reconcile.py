"""Reconciling a lost submit: finding the task it created in the provider's task list.

A task is the job's only when every parameter the list shows matches the request (model,
prompt, duration, resolution, aspect ratio, image URLs), it was created within a window of
the local record, and no other journal job owns it. When more than one task fits, nothing is
guessed: the job stays unknown and the candidates are listed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import HHError, ProviderError
from ..providers.base import ListedTask, Status
from .base import TRANSIENT, LifecycleBase, _GaveUp
from .job import Job
from .transport import send

__all__ = ["Ambiguous", "ReconcileSteps", "matching_tasks"]

_LIST_PAGE = 50
_PAGES = 3


class Ambiguous(HHError):
    """More than one listed task fits a lost submit: none is adopted."""

    def __init__(self, candidates: list[ListedTask]) -> None:
        self.candidates = candidates
        ids = ", ".join(t.provider_job_id for t in candidates[:5])
        super().__init__(f"{len(candidates)} tasks fit this lost submit ({ids}); none was "
                         "picked, to never attach another job's clip")


def _wanted(job: Job, model_id: str | None) -> dict[str, Any]:
    request = job.request
    mode = request.mode.value
    urls: tuple[str, ...] | None = None
    if mode == "i2v" and isinstance(request.image, str):
        urls = (request.image.strip(),)
    elif mode == "r2v":
        urls = tuple(str(r).strip() for r in request.reference_images)
    return {
        "model": model_id, "prompt": request.prompt, "duration": request.duration,
        "resolution": str(request.resolution).lower(),
        "aspect_ratio": request.aspect_ratio if mode != "i2v" else None,
        "image_urls": urls,
    }


def _fits(task: ListedTask, wanted: dict[str, Any]) -> bool:
    shown = {
        "model": task.model, "prompt": task.prompt, "duration": task.duration,
        "resolution": task.resolution.lower() if task.resolution else None,
        "aspect_ratio": task.aspect_ratio, "image_urls": task.image_urls,
    }
    return all(value is None or wanted[name] is None or value == wanted[name]
               for name, value in shown.items())


def matching_tasks(job: Job, tasks: Iterable[ListedTask], *, model_id: str | None,
                   window: float, owned: Callable[[str], bool]) -> list[ListedTask]:
    """The listed tasks that can be ``job``'s lost submit, nearest in time first."""
    wanted = _wanted(job, model_id)
    found = [task for task in tasks
             if _fits(task, wanted)
             and (task.created is None or abs(task.created - job.created_at) <= window)
             and not owned(task.provider_job_id)]
    return sorted(found, key=lambda t: abs((t.created or job.created_at) - job.created_at))


class ReconcileSteps(LifecycleBase):
    """The reconcile step of the lifecycle (see the module docs)."""

    async def find_lost_submit(self, job: Job, window: float = 600.0) -> str | None:
        """The provider id of the task a lost submit created, or None when the list shows
        none; :class:`Ambiguous` when several fit. Raises :class:`HHError` when the provider
        has no task list."""
        provider = self.provider
        if not provider.supports_list:
            raise HHError(
                f"{provider.name} offers no task list: job {job.id} cannot be reconciled "
                "automatically; look for a request created around "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(job.created_at))} "
                "in the provider's dashboard"
            )
        model_id = provider.model_id(job.request)
        candidates: list[ListedTask] = []
        for page in range(1, _PAGES + 1):
            tasks = await self._list_page(page)
            candidates += matching_tasks(
                job, tasks, model_id=model_id, window=window,
                owned=lambda pid: self.journal.find_by_provider_id(provider.name, pid)
                is not None)
            if len(tasks) < _LIST_PAGE:
                break
        if len(candidates) > 1:
            raise Ambiguous(candidates)
        return candidates[0].provider_job_id if candidates else None

    async def look_for_lost_submit(self, job: Job) -> bool | None:
        """One look in the task list for ``job``'s lost submit: True when its task was found
        and adopted, False when the list shows none, None when several fit (the job stays
        unknown with the candidates named). Raises :class:`HHError` when the provider has
        no task list or it cannot be read."""
        try:
            found = await self.find_lost_submit(job)
        except Ambiguous as ambiguous:
            self.undecided(job, ambiguous)
            return None
        if found is None:
            return False
        self.adopt(job, found)
        return True

    async def _list_page(self, page: int) -> list[ListedTask]:
        """One page of the provider's task list, under the retry policy."""
        call = self.provider.build_list(self._key.reveal(), self.base_url, page, _LIST_PAGE)

        async def attempt() -> list[ListedTask]:
            answer = await send(call, self.policy.read_timeout)
            return self.provider.parse_list(answer.status, answer.headers, answer.body)

        try:
            return await self._retrying(None, "task list", attempt, transient=TRANSIENT,
                                        max_errors=self.policy.max_poll_errors)
        except _GaveUp as exc:
            raise HHError(f"the task list could not be read ({self._error_text(exc.last)}); "
                          "try reconcile again later") from None
        except ProviderError as exc:
            raise HHError(f"the task list was refused: {self._error_text(exc)}") from None

    def adopt(self, job: Job, provider_job_id: str) -> None:
        """Record that a lost submit did create ``provider_job_id``; tracking can go on."""
        job.provider_job_id = provider_job_id
        job.status = Status.QUEUED
        job.phase = "polling"
        job.error = None
        job.submitted_at = job.submitted_at or job.created_at
        self._save(job)
        job._emit(f"reconciled: the submit had been accepted as {provider_job_id}")

    def undecided(self, job: Job, ambiguous: Ambiguous) -> None:
        """Several listed tasks fit: the job stays unknown, with the candidates named."""
        job.status = Status.UNKNOWN
        job.error = (f"{ambiguous}. Check them in {self.provider.name}'s dashboard; "
                     f"reconcile('{job.id}') again later may narrow it down")
        self._save(job)
        job._emit(job.error)

    def never_arrived(self, job: Job) -> None:
        """Record that a lost submit created nothing (absent from the task list).

        Within :attr:`PollPolicy.reconcile_grace` of the submit the job stays unknown
        instead: the provider may still be creating the task.
        """
        age = time.time() - job.created_at
        if age < self.policy.reconcile_grace:
            job.status = Status.UNKNOWN
            job.error = (
                f"not in {self.provider.name}'s task list yet ({age:.0f} s after the submit); "
                f"reconcile('{job.id}') again after {self.policy.reconcile_grace:.0f} s"
            )
            self._save(job)
            job._emit(job.error)
            return
        self._finish(job, Status.FAILED,
                     "the submit never reached the provider (not in its task list); "
                     "nothing was charged", "reconciled: never submitted")
