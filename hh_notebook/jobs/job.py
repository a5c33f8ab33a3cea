"""A job: one generation from submit to a clip on disk, and the events it sends.

A :class:`Job` is what :meth:`hh_notebook.client.Client.submit` returns. Its attributes
follow the lifecycle (:mod:`hh_notebook.jobs.lifecycle` moves it along); views subscribe to
its :class:`JobEvent` stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DownloadError, HHError, JobExpired, JobFailed, SubmitUncertain
from ..providers.base import TERMINAL_STATUSES, JobState, Status
from ..request import GenerationRequest

if TYPE_CHECKING:
    from ..journal import JobRecord

__all__ = ["SUBMITTING", "Job", "JobEvent", "new_job_id"]

log = logging.getLogger(__name__)

#: Journal ``status`` of a job whose submit has not been answered yet.
SUBMITTING = "submitting"


@dataclass(frozen=True)
class JobEvent:
    """A change in a job, sent to its subscribers.

    ``elapsed`` and ``eta`` are real seconds; ``eta`` is estimated from the
    provider's typical generation time; ``message`` says what happened in words.
    """

    job_id: str
    status: Status
    progress: float | None
    elapsed: float
    eta: float | None
    message: str | None = None


def new_job_id() -> str:
    """A new local job id (uuid4 hex)."""
    return uuid.uuid4().hex


class Job:
    """One generation, from submit to a clip on disk.

    Returned by :meth:`hh_notebook.client.Client.submit`. Its attributes follow
    the lifecycle; :meth:`subscribe` gets a :class:`JobEvent` at every change,
    :meth:`wait` waits for the end.

    ``cost`` is the :class:`~hh_notebook.pricing.CostEstimate` (0.0 for a clip
    served from the journal: ``from_cache`` is then True); ``charged`` is what
    the provider reports having billed, where it reports it (Apiframe).
    """

    def __init__(
        self,
        *,
        id: str,
        request: GenerationRequest,
        provider: str,
        model: str,
        status: Status = Status.QUEUED,
        phase: str = SUBMITTING,
        created_at: float | None = None,
        cost: Any = None,
        from_cache: bool = False,
        tags: dict[str, Any] | None = None,
    ) -> None:
        self.id = id
        self.request = request
        self.provider = provider
        self.model = model
        self.status = status
        self.phase = phase
        self.progress: float | None = None
        self.raw_status: str | None = None
        self.provider_job_id: str | None = None
        self.urls: dict[str, str] = {}
        self.output_url: str | None = None
        self.expires_at: float | None = None
        self.error: str | None = None
        self.video_path: Path | None = None
        self.cost = cost
        self.created_at = time.time() if created_at is None else created_at
        self.submitted_at: float | None = None
        self.finished_at: float | None = None
        self.from_cache = from_cache
        #: True when a submit found this job already under way (same seeded request or
        #: claim) and attached to it instead of paying again.
        self.attached = False
        #: What the provider reports having charged (Apiframe's ``creditCost``), if it does.
        self.charged: float | None = None
        self.tags: dict[str, Any] = dict(tags or {})
        self.message: str | None = None
        self._subscribers: list[Callable[[JobEvent], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._typical: tuple[float, float] | None = None  # real seconds

    # -- construction ------------------------------------------------------
    @classmethod
    def from_record(cls, record: JobRecord, *, from_cache: bool = False) -> Job:
        """A job object for a journal record (not tracked until resumed)."""
        try:
            request = GenerationRequest.from_dict(record.request)
        except (ValueError, TypeError, KeyError):  # a record from another version
            request = GenerationRequest(prompt=str(record.request.get("prompt") or ""))
        job = cls(
            id=record.id, request=request, provider=record.provider, model=record.model,
            status=_status(record.status), phase=record.phase, created_at=record.created_at,
            cost=0.0 if from_cache else record.cost, from_cache=from_cache, tags=record.tags,
        )
        job.mirror(record)
        return job

    def mirror(self, record: JobRecord) -> bool:
        """Take the state a journal record holds (another process may be tracking the job);
        True when something visible changed."""
        before = (self.status, self.progress, self.phase, self.video_path)
        self.status = _status(record.status)
        self.phase = record.phase
        self.progress = record.progress
        self.raw_status = record.raw_status
        self.provider_job_id = record.provider_job_id
        self.urls = dict(record.urls)
        self.output_url = record.output_url
        self.expires_at = record.expires_at
        self.error = record.error
        self.video_path = Path(record.video_path) if record.video_path else None
        self.submitted_at = record.submitted_at
        self.finished_at = record.finished_at
        return before != (self.status, self.progress, self.phase, self.video_path)

    def __repr__(self) -> str:
        where = f", video_path={str(self.video_path)!r}" if self.video_path else ""
        return (
            f"Job(id={self.id!r}, provider={self.provider!r}, model={self.model!r}, "
            f"status={self.status.value!r}, provider_job_id={self.provider_job_id!r}"
            f"{where}{', from_cache=True' if self.from_cache else ''})"
        )

    # -- state ---------------------------------------------------------------
    @property
    def tracking(self) -> bool:
        """True while a lifecycle task is working on this job."""
        return self._task is not None and not self._task.done()

    @property
    def done(self) -> bool:
        """True when nothing more will happen without an action (finished, lost or cancelled)."""
        return not self.tracking

    @property
    def elapsed(self) -> float:
        """Real seconds since the job was created (until it finished)."""
        end = self.finished_at if self.finished_at is not None else time.time()
        return max(0.0, end - self.created_at)

    @property
    def eta(self) -> float | None:
        """Estimated real seconds left, from the provider's typical generation time."""
        if self.status in TERMINAL_STATUSES or self.status is Status.UNKNOWN:
            return 0.0 if self.status is Status.SUCCEEDED and self.phase == "done" else None
        if self._typical is None:
            return None
        start = self.submitted_at or self.created_at
        spent = time.time() - start
        low, high = self._typical
        middle = (low + high) / 2
        if spent < middle:
            return middle - spent
        if spent < high:
            return high - spent
        return None

    def apply(self, state: JobState) -> bool:
        """Merge a provider answer into the job; True when something visible changed.

        A provider's "succeeded" stays ``running`` here until the clip is on disk.
        """
        before = (self.status, self.progress, self.raw_status)
        self.status = state.status if state.status is not Status.SUCCEEDED else Status.RUNNING
        if state.progress is not None:
            self.progress = state.progress
        self.raw_status = state.raw_status or self.raw_status
        if state.provider_job_id and not self.provider_job_id:
            self.provider_job_id = state.provider_job_id
        if state.urls:
            self.urls = {**self.urls, **state.urls}
        if state.output_url:
            self.output_url = state.output_url
        if state.expires_at is not None:
            self.expires_at = state.expires_at
        if state.cost is not None:
            self.charged = state.cost
        return before != (self.status, self.progress, self.raw_status)

    def provider_state(self) -> JobState:
        """What the provider translations need to ask about this job."""
        return JobState(status=self.status, provider_job_id=self.provider_job_id,
                        urls=dict(self.urls), output_url=self.output_url)

    def subscribe(self, callback: Callable[[JobEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` at every change; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, message: str | None = None) -> None:
        self.message = message
        event = JobEvent(self.id, self.status, self.progress, self.elapsed, self.eta, message)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken listener must not break the job
                log.exception("job %s: a progress subscriber raised", self.id)

    async def wait(self, timeout: float | None = None) -> Job:
        """Wait until the lifecycle stops (finished, failed, lost or cancelled); returns the job.

        Raises :class:`TimeoutError` after ``timeout`` real seconds; the job
        keeps running. Call :meth:`raise_for_status` to turn failure into an
        exception.
        """
        task = self._task
        if task is None or task.done():
            return self
        there = task.get_loop()
        if there is not asyncio.get_running_loop():
            # Tracked by another thread's loop: wait for it there. A loop that no longer
            # runs will never move the task; the job is returned unfinished.
            if there.is_running():
                settled = asyncio.run_coroutine_threadsafe(asyncio.wait({task}), there)
                await asyncio.wait_for(asyncio.wrap_future(settled), timeout)
            return self
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
        return self

    def raise_for_status(self) -> Job:
        """Raise the matching error unless the job succeeded with a clip on disk; returns the job."""
        if self.status is Status.SUCCEEDED and self.video_path is not None:
            return self
        what = f"job {self.id} ({self.provider})"
        if self.status is Status.FAILED and self.phase == "downloading":
            raise DownloadError(f"{what}: {self.error}", self)
        if self.status is Status.FAILED:
            raise JobFailed(f"{what} failed: {self.error or 'no reason given'}", self)
        if self.status is Status.EXPIRED:
            raise JobExpired(f"{what} expired: {self.error or 'the result is gone'}", self)
        if self.status is Status.UNKNOWN and self.provider_job_id is None:
            raise SubmitUncertain(
                f"{what}: {self.error or 'the submit may or may not have been accepted'}", self
            )
        if self.status is Status.UNKNOWN:
            raise HHError(f"{what}: {self.error or 'tracking was lost'}; resume it later")
        if not self.tracking:
            raise HHError(f"{what} is not finished and no longer tracked; resume it")
        return self


def _status(value: str) -> Status:
    """A journal status as a :class:`Status`: still ``submitting`` (no answer recorded) or a
    value this version does not know reads as unknown, never as an error."""
    try:
        return Status(value)
    except ValueError:
        return Status.UNKNOWN
