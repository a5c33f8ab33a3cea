"""What every step of the job lifecycle shares (see :mod:`hh_notebook.jobs.lifecycle`): the
one retry helper every loop goes through, the journal writes, and the heartbeat by which
other processes know a job is being tracked here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx

from ..catalog import facts
from ..config import Secret
from ..errors import RateLimited, ServerError, scrub
from ..journal import Journal, JournalError, this_owner
from ..providers.base import Provider, Status, UnexpectedAnswer
from .job import SUBMITTING, Job
from .policy import PollPolicy
from .transport import AnswerTooLarge

__all__ = ["HEARTBEAT_SECONDS", "LEASE_SECONDS", "OWNER", "TRANSIENT", "LifecycleBase"]

log = logging.getLogger("hh_notebook.jobs.lifecycle")

T = TypeVar("T")
#: This process, as it signs the jobs it tracks.
OWNER = this_owner()
#: Errors a status, result or list call may meet and get past by trying again.
TRANSIENT = (ServerError, UnexpectedAnswer, httpx.TransportError, AnswerTooLarge)
#: Real seconds between heartbeats of the jobs this process tracks.
HEARTBEAT_SECONDS = 10.0
#: Real seconds after which a job whose owner cannot be checked (another machine) and has
#: not beaten is taken as abandoned: another process may take it over (never resubmit it).
LEASE_SECONDS = 45.0


class _Uncertain(Exception):
    """The request may have reached the server but no usable answer came back."""


class _GaveUp(Exception):
    """Retries are exhausted; ``last`` is the last error seen."""

    def __init__(self, reason: str, last: BaseException) -> None:
        super().__init__(reason)
        self.last = last


class LifecycleBase:
    """What every step of the lifecycle shares: the provider, key, base URL, journal and
    clips folder of one client; the one retry helper; the journal writes; the heartbeat that
    tells other processes a job is tracked here. ``time_scale`` multiplies every
    provider-time wait (1.0 for real providers; the sandbox's own scale for a sandbox)."""

    def __init__(self, provider: Provider, key: Secret, base_url: str, journal: Journal,
                 clips_dir: Path, *, time_scale: float = 1.0,
                 policy: PollPolicy | None = None) -> None:
        self.provider = provider
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.journal = journal
        self.clips_dir = Path(clips_dir)
        self.time_scale = float(time_scale)
        self.policy = policy or PollPolicy()
        #: Monotonic time before which no request goes to this provider (after a 429).
        self._not_before = 0.0
        #: Jobs this process tracks (their heartbeat is renewed), and the task renewing it.
        self._tracked: set[str] = set()
        self._beating: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return (f"Lifecycle(provider={self.provider.name!r}, base_url={self.base_url!r}, "
                f"time_scale={self.time_scale!r})")

    # -- waiting and retrying ------------------------------------------------
    def scrub(self, text: str) -> str:
        """``text`` with the API key (and any other registered secret) masked: providers may
        echo it."""
        key = self._key.reveal()
        text = text.replace(key, "***") if key and len(key) >= 4 else text
        return scrub(text)

    def _error_text(self, exc: BaseException) -> str:
        return self.scrub(str(exc) or type(exc).__name__)

    async def _sleep(self, provider_seconds: float) -> None:
        await asyncio.sleep(max(0.0, provider_seconds) * self.time_scale)

    def _rate_limit_delay(self, exc: RateLimited, wait: float) -> float:
        # Retry-After / x-rate-limit-reset-at-utc are wall-clock values from the server (a
        # sandbox already scales them): they are not scaled again. Without them, the backoff
        # is in provider seconds like every other wait.
        return wait if exc.retry_after is not None else wait * self.time_scale

    async def _respect_rate_limit(self) -> None:
        wait = self._not_before - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _retrying(self, job: Job | None, what: str, attempt: Callable[[], Awaitable[T]],
                        *, transient: tuple[type[BaseException], ...] = (),
                        max_errors: int = 0, max_limited: int | None = None,
                        long_limit_gives_up: bool = False, floor: float = 0.0,
                        error_cap: float | None = None) -> T:
        """Run ``attempt`` until it succeeds, under the one retry policy.

        429s wait for the reset time (shared by every request to the provider) and count
        against ``max_limited``; ``transient`` errors back off and count against
        ``max_errors``; anything else propagates. Raises :class:`_GaveUp` when a bound is hit.
        """
        policy = self.policy
        limit = policy.max_rate_limited if max_limited is None else max_limited
        errors = limited = 0
        while True:
            await self._respect_rate_limit()
            try:
                return await attempt()
            except RateLimited as exc:
                limited += 1
                wait = exc.retry_after if exc.retry_after is not None else policy.backoff(limited)
                if limited > limit or (long_limit_gives_up and wait > policy.max_rate_limit_wait):
                    raise _GaveUp(f"{what}: still rate limited after {limited} tries", exc) \
                        from None
                delay = self._rate_limit_delay(exc, min(wait, policy.max_rate_limit_wait))
                self._not_before = max(self._not_before, time.monotonic() + delay)
                if job is not None:
                    job._emit(f"rate limited by {self.provider.name}; next {what} in "
                              f"{wait:.1f} s")
            except transient as exc:
                errors += 1
                if errors > max_errors:
                    raise _GaveUp(f"{what} kept failing ({self._error_text(exc)})", exc) \
                        from None
                wait = max(policy.backoff(errors), floor)
                log.info("%s failed (%s); retry %d in %.1f provider s", what,
                         self._error_text(exc), errors, wait)
                await self._sleep(min(wait, error_cap) if error_cap else wait)

    # -- journal -------------------------------------------------------------
    def _provider_elapsed(self, job: Job) -> float:
        start = job.submitted_at or job.created_at
        return (time.time() - start) / self.time_scale if self.time_scale > 0 else 0.0

    def attach(self, job: Job) -> None:
        """Give ``job`` this provider's typical duration (for its ETA)."""
        low, high = self.provider.typical_duration
        job._typical = (low * self.time_scale, high * self.time_scale)

    def _save(self, job: Job) -> None:
        # Until the submit is answered (or known lost) the journal says "submitting".
        awaiting = job.phase == SUBMITTING and not job.provider_job_id
        status = SUBMITTING if awaiting and job.status is not Status.UNKNOWN else job.status.value
        self.journal.update(
            job.id, status=status, phase=job.phase, provider_job_id=job.provider_job_id,
            raw_status=job.raw_status, progress=job.progress, urls=job.urls,
            output_url=job.output_url, expires_at=job.expires_at,
            video_path=str(job.video_path) if job.video_path else None, error=job.error,
            submitted_at=job.submitted_at, finished_at=job.finished_at,
        )

    def _finish(self, job: Job, status: Status, error: str | None, message: str, *,
                keep_phase: bool = False) -> None:
        # Provider texts end up here too: scrub once, for every way a job ends.
        message = self.scrub(message)
        job.status = status
        job.error = self.scrub(error) if error else error
        job.finished_at = time.time()
        if not keep_phase:
            job.phase = "done"
        self._save(job)
        log.info("job %s: %s", job.id, message)
        job._emit(message)

    def _lose(self, job: Job, reason: str) -> None:
        """Tracking failed (retries exhausted, an answer refused): the job stays resumable."""
        job.status = Status.UNKNOWN
        job.error = f"{reason}; the job may still finish at the provider: resume('{job.id}')"
        self._save(job)
        log.warning("job %s: %s", job.id, job.error)
        job._emit(job.error)

    # -- submit ---------------------------------------------------------------

    # -- heartbeat -------------------------------------------------------------
    def _own(self, job: Job) -> None:
        """This process tracks ``job`` from now on: renew its lease while it does."""
        self._tracked.add(job.id)
        if self._beating is None or self._beating.done():
            self._beating = asyncio.get_running_loop().create_task(self._beat(),
                                                                   name="hh-heartbeat")

    @property
    def heartbeat(self) -> asyncio.Task[None] | None:
        """The task renewing this process's leases while it tracks jobs, if running."""
        beating = self._beating
        return beating if beating is not None and not beating.done() else None

    def _disown(self, job: Job) -> None:
        self._tracked.discard(job.id)
        beating = self._beating
        if self._tracked or beating is None or beating.done():
            return
        # The last job ended: stop the heartbeat now rather than at its next wake-up, so that
        # no sleeping task is left behind on a loop that may never run again.
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        self._beating = None  # a job owned from now on starts a new heartbeat
        if beating.get_loop() is current:
            beating.cancel()
        elif not beating.get_loop().is_closed():
            beating.get_loop().call_soon_threadsafe(beating.cancel)

    async def _beat(self) -> None:
        while self._tracked:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                self.journal.beat(sorted(self._tracked), OWNER)
            except JournalError as exc:  # a full disk: the lease lapses, tracking goes on
                log.warning("heartbeat not written: %s", exc)

    def retention(self) -> str:
        """What the provider's pages say about how long it keeps a job."""
        return facts(self.provider.name).retention
