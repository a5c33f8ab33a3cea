"""The job lifecycle: submit, poll, fetch the result, download, resume.

This is the only place that sleeps, retries or writes the journal. Everything
is async (one shared :class:`httpx.AsyncClient` per event loop); the blocking
facade lives in :mod:`hh_notebook.client`.

Rules it keeps:

* The journal record is written *before* the submit is sent, updated with the
  provider's id as soon as it comes back, then at every state change.
* A submit is never retried once it may have reached the server (timeout,
  connection closed after sending, 5xx, an answer that cannot be read): the
  job becomes ``unknown`` and :meth:`Lifecycle.reconcile` resolves it where the
  provider lists its tasks. Errors known to happen before acceptance
  (connection refused, 400/401/403/406) are raised; a 429 is retried after
  the reset time a bounded number of times.
* Polling waits for the typical minimum generation time before the first
  status call, then polls at a short cadence that never goes below the
  provider's floor. 429s wait for the reset time; 5xx, resets and timeouts are
  retried with capped exponential backoff and jitter, a bounded number of
  times. Every wait is in provider seconds, multiplied by the time scale when
  talking to a sandbox.
* A succeeded job is downloaded at once: streamed to a temp file, resumed with
  Range after a cut, capped in size, checked to be an MP4, renamed atomically.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .config import Secret
from .errors import (
    DownloadError,
    HHError,
    JobExpired,
    JobFailed,
    ProviderError,
    RateLimited,
    ServerError,
    SubmitUncertain,
)
from .journal import JobRecord, Journal
from .providers.base import (
    TERMINAL_STATUSES,
    HttpCall,
    JobState,
    ListedTask,
    Provider,
    Status,
    UnexpectedAnswer,
    is_http_url,
)
from .request import GenerationRequest

__all__ = [
    "Job",
    "JobEvent",
    "Lifecycle",
    "PollPolicy",
    "http_client",
    "new_job_id",
]

log = logging.getLogger(__name__)

_LIST_PAGE = 50

#: Journal ``status`` of a job whose submit has not been answered yet.
SUBMITTING = "submitting"


# --------------------------------------------------------------------------- events and jobs


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
        status = Status.UNKNOWN if record.status == SUBMITTING else Status(record.status)
        job = cls(
            id=record.id, request=request, provider=record.provider, model=record.model,
            status=status, phase=record.phase, created_at=record.created_at,
            cost=0.0 if from_cache else record.cost, from_cache=from_cache, tags=record.tags,
        )
        job.progress = record.progress
        job.raw_status = record.raw_status
        job.provider_job_id = record.provider_job_id
        job.urls = dict(record.urls)
        job.output_url = record.output_url
        job.expires_at = record.expires_at
        job.error = record.error
        job.video_path = Path(record.video_path) if record.video_path else None
        job.submitted_at = record.submitted_at
        job.finished_at = record.finished_at
        return job

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


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class PollPolicy:
    """How often to poll and how hard to retry. All durations in provider seconds.

    The first status call waits ``first_poll_fraction`` of the provider's
    typical minimum generation time (a job is practically never done before);
    then ``interval`` (never below the provider's floor) until the typical
    maximum, then gradually slower up to ``late_interval``.
    """

    first_poll_fraction: float = 1.0
    interval: float = 4.0
    late_interval: float = 15.0
    late_growth: float = 1.25
    max_wait: float = 3600.0
    max_poll_errors: int = 8
    max_rate_limited: int = 20
    backoff_base: float = 2.0
    backoff_cap: float = 60.0
    submit_rate_limit_retries: int = 3
    max_rate_limit_wait: float = 300.0
    download_attempts: int = 6
    max_clip_bytes: int = 1024 * 1024 * 1024
    #: Real seconds to wait for an answer to one API call (not scaled).
    read_timeout: float = 60.0
    #: Real seconds after a lost submit before its absence from the provider's task
    #: list is taken as proof that it never arrived (a slow server may still create it).
    reconcile_grace: float = 120.0

    def next_delay(self, provider: Provider, since_submit: float, last_delay: float | None) -> float:
        """Provider seconds to wait before the next status call."""
        floor = max(provider.min_poll_interval, 0.0)
        low, high = provider.typical_duration
        first = low * self.first_poll_fraction
        if since_submit < first:
            return max(first - since_submit, floor)
        if since_submit < high:
            return max(self.interval, floor)
        grown = max(self.interval, (last_delay or self.interval) * self.late_growth)
        return max(min(grown, self.late_interval), floor)

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter (provider seconds)."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


# --------------------------------------------------------------------------- http


_USER_AGENT = "hh_notebook/0.1"
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def http_client() -> httpx.AsyncClient:
    """The shared, pooled :class:`httpx.AsyncClient` of the running event loop."""
    loop = asyncio.get_running_loop()
    client = _pools.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=30.0),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            headers={"User-Agent": _USER_AGENT},
            follow_redirects=False,
        )
        _pools[loop] = client
    return client


async def close_http_client() -> None:
    """Close the running loop's shared client (a new one is made on next use)."""
    loop = asyncio.get_running_loop()
    client = _pools.pop(loop, None)
    if client is not None:
        await client.aclose()


class _Uncertain(Exception):
    """The request may have reached the server but no usable answer came back."""


async def _send(call: HttpCall, read_timeout: float = 60.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``call``; returns (status, headers, body). Transport errors propagate."""
    answer = await http_client().request(
        call.method, call.url, headers=call.headers, json=call.json, params=call.params,
        timeout=httpx.Timeout(connect=10.0, read=read_timeout, write=60.0, pool=30.0),
    )
    return answer.status_code, dict(answer.headers), answer.content


def _is_pre_send(exc: BaseException) -> bool:
    """True when a transport error certainly happened before the request was sent."""
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


# --------------------------------------------------------------------------- lifecycle


class Lifecycle:
    """Runs jobs of one provider, at one base URL, with one key.

    ``time_scale`` multiplies every provider-time wait (1.0 for real
    providers; the sandbox's own scale when talking to a sandbox).
    """

    def __init__(
        self,
        provider: Provider,
        key: Secret,
        base_url: str,
        journal: Journal,
        clips_dir: Path,
        *,
        time_scale: float = 1.0,
        policy: PollPolicy | None = None,
    ) -> None:
        self.provider = provider
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.journal = journal
        self.clips_dir = Path(clips_dir)
        self.time_scale = float(time_scale)
        self.policy = policy or PollPolicy()

    def __repr__(self) -> str:
        return (
            f"Lifecycle(provider={self.provider.name!r}, base_url={self.base_url!r}, "
            f"time_scale={self.time_scale!r})"
        )

    # -- helpers ------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        key = self._key.reveal()
        return text.replace(key, "***") if key and len(key) >= 4 else text

    def _error_text(self, exc: BaseException) -> str:
        return self._scrub(str(exc) or type(exc).__name__)

    async def _sleep(self, provider_seconds: float) -> None:
        await asyncio.sleep(max(0.0, provider_seconds) * self.time_scale)

    async def _rate_limit_sleep(self, exc: RateLimited, wait: float) -> None:
        # Retry-After / x-rate-limit-reset-at-utc are wall-clock values from the
        # server (a sandbox already scales them): they are not scaled again.
        # Without them, the backoff is in provider seconds like every other wait.
        if exc.retry_after is not None:
            await asyncio.sleep(wait)
        else:
            await self._sleep(wait)

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
        status = (
            SUBMITTING if awaiting and job.status is not Status.UNKNOWN else job.status.value
        )
        self.journal.update(
            job.id,
            status=status,
            phase=job.phase,
            provider_job_id=job.provider_job_id,
            raw_status=job.raw_status,
            progress=job.progress,
            urls=job.urls,
            output_url=job.output_url,
            expires_at=job.expires_at,
            video_path=str(job.video_path) if job.video_path else None,
            error=job.error,
            submitted_at=job.submitted_at,
            finished_at=job.finished_at,
        )

    def _finish(self, job: Job, status: Status, error: str | None, message: str, *,
                keep_phase: bool = False) -> None:
        # Provider texts end up here too: scrub once, for every way a job ends.
        message = self._scrub(message)
        job.status = status
        job.error = self._scrub(error) if error else error
        job.finished_at = time.time()
        if not keep_phase:
            job.phase = "done"
        self._save(job)
        log.info("job %s: %s", job.id, message)
        job._emit(message)

    def _apply(self, job: Job, state: JobState) -> bool:
        """Merge a provider state into the job; True when something visible changed."""
        before = (job.status, job.progress, job.raw_status)
        job.status = state.status if state.status is not Status.SUCCEEDED else Status.RUNNING
        if state.progress is not None:
            job.progress = state.progress
        job.raw_status = state.raw_status or job.raw_status
        if state.provider_job_id and not job.provider_job_id:
            job.provider_job_id = state.provider_job_id
        if state.urls:
            job.urls = {**job.urls, **state.urls}
        if state.output_url:
            job.output_url = state.output_url
        if state.expires_at is not None:
            job.expires_at = state.expires_at
        if state.cost is not None:
            job.charged = state.cost
        return before != (job.status, job.progress, job.raw_status)

    # -- submit ---------------------------------------------------------------
    def record(self, job: Job, fingerprint: str | None) -> None:
        """Write the job to the journal, before anything is sent."""
        cost = job.cost
        amount = getattr(cost, "amount", cost if isinstance(cost, (int, float)) else None)
        self.journal.insert(
            JobRecord(
                id=job.id, provider=job.provider, model=job.model,
                request=job.request.to_dict(), status=SUBMITTING, phase=SUBMITTING,
                created_at=job.created_at, updated_at=time.time(), base_url=self.base_url,
                fingerprint=fingerprint, cost=amount, currency=getattr(cost, "currency", None),
                tags=job.tags,
            )
        )

    async def submit(self, job: Job, fingerprint: str | None = None) -> None:
        """Record ``job`` in the journal, then send its submit.

        Raises :class:`~hh_notebook.errors.ValidationError` when the request
        cannot be translated (nothing recorded or sent),
        :class:`ProviderError` (nothing was created: 400/401/403/406, a
        connection refused, 429 after the bounded retries) or
        :class:`SubmitUncertain` (the job may exist; it is marked unknown).
        """
        self.attach(job)
        call = self.provider.build_submit(job.request, self._key.reveal(), self.base_url)
        self.record(job, fingerprint)
        log.debug("job %s: submitting %r", job.id, call)
        job._emit("submitting")
        for attempt in range(self.policy.submit_rate_limit_retries + 1):
            try:
                state = await self._submit_once(call)
            except RateLimited as exc:
                wait = exc.retry_after if exc.retry_after is not None else self.policy.backoff(
                    attempt + 1
                )
                if attempt >= self.policy.submit_rate_limit_retries or (
                    wait > self.policy.max_rate_limit_wait
                ):
                    self._finish(job, Status.FAILED, self._error_text(exc),
                                 "rate limited: the job was not submitted")
                    raise
                job._emit(f"rate limited by {self.provider.name}; retrying in {wait:.1f} s")
                await self._rate_limit_sleep(exc, wait)
                continue
            except _Uncertain as exc:
                text = self._error_text(exc)
                job.status = Status.UNKNOWN
                job.error = (
                    f"the submit may have reached {self.provider.name} but no usable answer came "
                    f"back ({text}); it was not resent. Use reconcile('{job.id}') to look for it."
                )
                self._save(job)
                job._emit("submit uncertain: marked unknown, not resent")
                raise SubmitUncertain(f"job {job.id}: {job.error}", job) from None
            except ProviderError as exc:
                self._finish(job, Status.FAILED, self._error_text(exc), "submit rejected")
                raise
            break
        job.provider_job_id = state.provider_job_id
        # Local clock (not the provider's ``created``: other clock, often whole seconds).
        job.submitted_at = time.time()
        job.phase = "polling"
        self._apply(job, state)
        self._save(job)
        log.info("job %s: accepted by %s as %s", job.id, self.provider.name, job.provider_job_id)
        job._emit(f"accepted as {job.provider_job_id}")

    async def _submit_once(self, call: HttpCall) -> JobState:
        try:
            status, headers, body = await _send(call, self.policy.read_timeout)
        except httpx.TransportError as exc:
            if _is_pre_send(exc):
                raise ProviderError(
                    self.provider.name, None, "connection_failed",
                    f"could not connect to {self.base_url} ({type(exc).__name__}); "
                    "nothing was submitted",
                ) from None
            raise _Uncertain(f"{type(exc).__name__}: {exc}") from None
        try:
            return self.provider.parse_submit(status, headers, body)
        except (ServerError, UnexpectedAnswer) as exc:
            raise _Uncertain(str(exc)) from None

    # -- tracking -------------------------------------------------------------
    async def track(self, job: Job) -> None:
        """Poll, fetch the result and download until the job is finished; never raises."""
        self.attach(job)
        try:
            if job.phase == "polling":
                await self._poll_until_done(job)
            if job.phase == "downloading" and job.status is not Status.UNKNOWN:
                await self._download(job)
        except asyncio.CancelledError:
            job._emit("tracking cancelled (the job keeps running at the provider; resume it)")
            raise
        except Exception as exc:  # the lifecycle must not die silently
            log.exception("job %s: lifecycle error", job.id)
            job.status = Status.UNKNOWN
            job.error = f"internal error while tracking: {self._error_text(exc)}"
            self._save(job)
            job._emit(job.error)

    async def _request_with_retries(
        self, job: Job, build: Callable[[], HttpCall], parse: Callable[..., JobState],
        what: str,
    ) -> JobState | None:
        """One logical status/result call, retried on 429/5xx/transport errors (bounded).

        Returns None (and marks the job unknown) when retries are exhausted or
        the provider refuses to answer (401/403...).
        """
        errors = 0
        limited = 0
        while True:
            try:
                status, headers, body = await _send(build(), self.policy.read_timeout)
                return parse(status, headers, body)
            except RateLimited as exc:
                limited += 1
                if limited > self.policy.max_rate_limited:
                    self._lose(job, f"{what}: still rate limited after {limited} tries")
                    return None
                wait = exc.retry_after if exc.retry_after is not None else self.policy.backoff(
                    limited
                )
                wait = min(wait, self.policy.max_rate_limit_wait)
                job._emit(f"rate limited; next {what} in {wait:.1f} s")
                await self._rate_limit_sleep(exc, wait)
            except (ServerError, UnexpectedAnswer, httpx.TransportError) as exc:
                errors += 1
                if errors > self.policy.max_poll_errors:
                    self._lose(job, f"{what} kept failing ({self._error_text(exc)})")
                    return None
                # Retries respect the provider's polling floor too (aggregator: >= 5 s).
                wait = max(self.policy.backoff(errors), self.provider.min_poll_interval)
                log.info("job %s: %s failed (%s); retry %d in %.1f provider s",
                         job.id, what, self._error_text(exc), errors, wait)
                await self._sleep(wait)
            except ProviderError as exc:
                self._lose(job, f"{what} refused: {self._error_text(exc)}")
                return None

    def _lose(self, job: Job, reason: str) -> None:
        job.status = Status.UNKNOWN
        job.error = f"{reason}; the job may still finish at the provider: resume('{job.id}')"
        self._save(job)
        log.warning("job %s: %s", job.id, job.error)
        job._emit(job.error)

    async def _poll_until_done(self, job: Job) -> None:
        provider = self.provider
        last_delay: float | None = None
        planned: float | None = None  # provider seconds since submit of the last planned call
        last_call = -provider.min_poll_interval
        # Bounded: max_wait provider seconds at no less than the floor per call.
        max_polls = int(self.policy.max_wait / max(provider.min_poll_interval, 1.0)) + 10
        for _ in range(max_polls):
            since = self._provider_elapsed(job)
            if since > self.policy.max_wait:
                self._lose(job, f"no result after {self.policy.max_wait / 60:.0f} min")
                return
            # Calls sit on a grid measured from the submit, so request latency does not
            # accumulate into the schedule; never closer than the floor to the last call.
            anchor = planned if planned is not None else since
            last_delay = self.policy.next_delay(provider, anchor, last_delay)
            planned = max(anchor + last_delay, last_call + provider.min_poll_interval)
            await self._sleep(planned - since)
            state = await self._request_with_retries(
                job,
                lambda: provider.build_poll(self._job_state(job), self._key.reveal(),
                                            self.base_url),
                provider.parse_poll, "status check",
            )
            last_call = self._provider_elapsed(job)  # after any retries inside
            if state is None:
                return
            if state.status is Status.SUCCEEDED:
                self._apply(job, state)
                if provider.needs_result(state):
                    result = await self._request_with_retries(
                        job,
                        lambda: provider.build_result(self._job_state(job), self._key.reveal(),
                                                      self.base_url),
                        provider.parse_result, "result fetch",
                    )
                    if result is None:
                        return
                    if result.status is not Status.SUCCEEDED:
                        state = result
                    else:
                        self._apply(job, result)
                if state.status is Status.SUCCEEDED:
                    job.phase = "downloading"
                    job.progress = 100.0
                    self._save(job)
                    job._emit("generated; downloading")
                    return
            if state.status is Status.FAILED:
                self._apply(job, state)
                self._finish(job, Status.FAILED, state.error or "failed",
                             f"failed: {state.error}")
                return
            if state.status is Status.EXPIRED:
                self._apply(job, state)
                self._finish(job, Status.EXPIRED, state.error, f"expired: {state.error}")
                return
            if self._apply(job, state):
                self._save(job)
                job._emit(None)
        self._lose(job, "polling limit reached")

    def _job_state(self, job: Job) -> JobState:
        return JobState(status=job.status, provider_job_id=job.provider_job_id,
                        urls=dict(job.urls), output_url=job.output_url)

    # -- download --------------------------------------------------------------
    async def _download(self, job: Job) -> None:
        if not job.output_url:
            self._finish(job, Status.FAILED, "succeeded without an output URL", "no output URL")
            return
        call = self.provider.build_download(job.output_url, self._key.reveal(), self.base_url)
        if not is_http_url(call.url):
            self._finish(job, Status.FAILED,
                         f"refusing to download from a non-http(s) URL: {call.url[:100]!r}",
                         "bad output URL")
            return
        if job.expires_at is not None and job.expires_at < time.time():
            self._finish(job, Status.EXPIRED, "the output URL expired before it was downloaded",
                         "expired before download")
            return
        self.clips_dir.mkdir(parents=True, exist_ok=True)
        final = self.clips_dir / f"{job.id}.mp4"
        part = self.clips_dir / f".{job.id}.{os.getpid()}.part"
        try:
            await self._fetch_to(job, call, part)
            _check_mp4(part)
            os.replace(part, final)
        except _Gone as exc:
            part.unlink(missing_ok=True)
            self._finish(job, Status.EXPIRED, str(exc), "expired before download")
            return
        except _DownloadFailed as exc:
            # A transient failure keeps the phase, so resume() retries the download.
            part.unlink(missing_ok=True)
            self._finish(job, Status.FAILED, f"download failed: {self._error_text(exc)}",
                         "download failed", keep_phase=exc.retryable)
            return
        job.video_path = final
        job.progress = 100.0
        self._finish(job, Status.SUCCEEDED, None, f"done: {final.name}")

    async def _fetch_to(self, job: Job, call: HttpCall, part: Path) -> None:
        cap = self.policy.max_clip_bytes
        written = part.stat().st_size if part.exists() else 0
        last_error = "no attempt made"
        for attempt in range(1, self.policy.download_attempts + 1):
            headers = dict(call.headers)
            if written:
                headers["Range"] = f"bytes={written}-"
            try:
                async with http_client().stream(
                    "GET", call.url, headers=headers, follow_redirects=True
                ) as answer:
                    code = answer.status_code
                    if code in (404, 410):
                        raise _Gone(f"the clip is gone (HTTP {code})")
                    if code == 416 and written:
                        written = 0  # our partial file does not match: start over
                        part.unlink(missing_ok=True)
                        last_error = "HTTP 416"
                        continue
                    if code == 429 or code >= 500:
                        last_error = f"HTTP {code}"
                        await self._sleep(self.policy.backoff(attempt))
                        continue
                    if code not in (200, 206):
                        raise _DownloadFailed(f"HTTP {code} from the clip URL", retryable=False)
                    append = code == 206 and written > 0 and _range_start(answer) == written
                    if not append:
                        written = 0
                    total = _expected_total(answer, written if append else 0)
                    if total is not None and total > cap:
                        raise _DownloadFailed(f"the clip is {total} bytes, above the "
                                              f"{cap}-byte cap", retryable=False)
                    out = await asyncio.to_thread(_open_part, part, append)
                    try:
                        async for chunk in answer.aiter_bytes():
                            written += len(chunk)
                            if written > cap:
                                raise _DownloadFailed(f"the clip exceeds the {cap}-byte cap",
                                                      retryable=False)
                            await asyncio.to_thread(out.write, chunk)
                    finally:
                        await asyncio.to_thread(out.close)
                    if total is not None and written < total:
                        last_error = f"connection closed at {written} of {total} bytes"
                        continue
                    return
            except (httpx.TransportError, httpx.StreamError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                written = part.stat().st_size if part.exists() else 0
                log.info("job %s: download interrupted at %d bytes (%s); resuming",
                         job.id, written, last_error)
                await self._sleep(min(self.policy.backoff(attempt), 5.0))
        raise _DownloadFailed(
            f"gave up after {self.policy.download_attempts} attempts ({last_error})",
            retryable=True,
        )

    # -- reconcile ---------------------------------------------------------------
    async def find_lost_submit(self, job: Job, window: float = 600.0) -> str | None:
        """The provider id of the task a lost submit created, from the task list.

        Matches on prompt, model and creation time (within ``window`` real
        seconds of the local record), skipping tasks another journal job owns.
        Raises :class:`HHError` when the provider has no task list.
        """
        provider = self.provider
        if not provider.supports_list:
            raise HHError(
                f"{provider.name} offers no task list: job {job.id} cannot be reconciled "
                "automatically; look for a request created around "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(job.created_at))} "
                "in the provider's dashboard"
            )
        model_id = getattr(provider, "model_id", None)
        wanted_model = model_id(job.request) if callable(model_id) else None
        best: tuple[float, str] | None = None
        for page in range(1, 4):
            tasks = await self._list_page(page)
            for task in tasks:
                if task.prompt is not None and task.prompt != job.request.prompt:
                    continue
                if wanted_model and task.model and task.model != wanted_model:
                    continue
                if task.created is not None and abs(task.created - job.created_at) > window:
                    continue
                if self.journal.find_by_provider_id(provider.name, task.provider_job_id):
                    continue
                gap = abs((task.created or job.created_at) - job.created_at)
                if best is None or gap < best[0]:
                    best = (gap, task.provider_job_id)
            if len(tasks) < _LIST_PAGE:
                break
        return best[1] if best else None

    async def _list_page(self, page: int) -> list[ListedTask]:
        """One page of the provider's task list, retried on 429/5xx/transport errors."""
        call = self.provider.build_list(self._key.reveal(), self.base_url, page, _LIST_PAGE)
        last = ""
        for attempt in range(1, self.policy.max_poll_errors + 1):
            try:
                status, headers, body = await _send(call, self.policy.read_timeout)
                return self.provider.parse_list(status, headers, body)
            except RateLimited as exc:
                last = self._error_text(exc)
                await self._rate_limit_sleep(
                    exc, exc.retry_after if exc.retry_after is not None
                    else self.policy.backoff(attempt))
            except (ServerError, UnexpectedAnswer, httpx.TransportError) as exc:
                last = self._error_text(exc)
                await self._sleep(self.policy.backoff(attempt))
            except ProviderError as exc:
                raise HHError(f"the task list was refused: {self._error_text(exc)}") from None
        raise HHError(f"the task list could not be read ({last}); try reconcile again later")

    def adopt(self, job: Job, provider_job_id: str) -> None:
        """Record that a lost submit did create ``provider_job_id``; tracking can go on."""
        job.provider_job_id = provider_job_id
        job.status = Status.QUEUED
        job.phase = "polling"
        job.error = None
        job.submitted_at = job.submitted_at or job.created_at
        self._save(job)
        job._emit(f"reconciled: the submit had been accepted as {provider_job_id}")

    def never_arrived(self, job: Job) -> None:
        """Record that a lost submit created nothing (absent from the task list).

        Within :attr:`PollPolicy.reconcile_grace` of the submit the job stays
        unknown instead: the provider may still be creating the task.
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


def _open_part(path: Path, append: bool) -> Any:
    return open(path, "ab" if append else "wb")


class _DownloadFailed(Exception):
    """The clip could not be downloaded; ``retryable`` when a later resume may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class _Gone(Exception):
    """The result or clip no longer exists at the provider."""


def _range_start(answer: httpx.Response) -> int | None:
    value = answer.headers.get("content-range", "")
    # "bytes 100-199/1000"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _expected_total(answer: httpx.Response, offset: int) -> int | None:
    value = answer.headers.get("content-range")
    if value and "/" in value:
        total = value.rsplit("/", 1)[1]
        if total.isdigit():
            return int(total)
    length = answer.headers.get("content-length")
    if length and length.isdigit():
        return offset + int(length)
    return None


def _check_mp4(path: Path) -> None:
    """Raise unless ``path`` starts with an MP4 ``ftyp`` box."""
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 12 or head[4:8] != b"ftyp":
        raise _DownloadFailed("the downloaded file is not an MP4 (no ftyp box)", retryable=False)
