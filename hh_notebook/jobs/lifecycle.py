"""The job lifecycle: submit, poll, fetch the result, download, reconcile. The only place that
sleeps, retries or writes a job's state to the journal; every loop follows one retry policy
(:class:`~hh_notebook.jobs.policy.PollPolicy`) through one helper, :meth:`Lifecycle._retrying`.

* The journal record is written *before* the submit is sent, then at every state change; a
  job has one record however many times a 429 makes its submit wait.
* A submit is never resent once it may have reached the server (timeout, connection closed
  after sending, 5xx, an unreadable answer): the job becomes ``unknown`` and
  :meth:`Lifecycle.find_lost_submit` looks for it where the provider lists its tasks.
* A 429 holds back every request to that provider until its reset time; 5xx, resets and
  timeouts back off exponentially with jitter; every loop is bounded. Waits are in provider
  seconds, multiplied by the time scale when talking to a sandbox.
* Polling starts after the typical minimum generation time and never goes below the
  provider's floor. A succeeded job is downloaded at once, resumed with Range after a cut,
  capped in size, checked to be an MP4 and renamed atomically.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx

from ..config import Secret
from ..errors import HHError, ProviderError, RateLimited, ServerError, SubmitUncertain
from ..journal import JobRecord, Journal
from ..providers.base import HttpCall, JobState, ListedTask, Provider, Status, UnexpectedAnswer
from ..providers.parsing import is_http_url
from ..request import CheckedRequest
from .job import SUBMITTING, Job
from .policy import PollPolicy
from .reconcile import best_match
from .transport import (
    DownloadFailed,
    Gone,
    TransientDownload,
    download_once,
    is_pre_send,
    send,
)

__all__ = ["Lifecycle"]

log = logging.getLogger(__name__)

T = TypeVar("T")
_LIST_PAGE = 50
_TRANSIENT = (ServerError, UnexpectedAnswer, httpx.TransportError)


class _Uncertain(Exception):
    """The request may have reached the server but no usable answer came back."""


class _GaveUp(Exception):
    """Retries are exhausted; ``last`` is the last error seen."""

    def __init__(self, reason: str, last: BaseException) -> None:
        super().__init__(reason)
        self.last = last


class Lifecycle:
    """Runs jobs of one provider, at one base URL, with one key.

    ``time_scale`` multiplies every provider-time wait (1.0 for real providers; the
    sandbox's own scale when talking to a sandbox).
    """

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

    def __repr__(self) -> str:
        return (f"Lifecycle(provider={self.provider.name!r}, base_url={self.base_url!r}, "
                f"time_scale={self.time_scale!r})")

    # -- waiting and retrying ------------------------------------------------
    def scrub(self, text: str) -> str:
        """``text`` with the API key masked (providers may echo it)."""
        key = self._key.reveal()
        return text.replace(key, "***") if key and len(key) >= 4 else text

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
        job.status = Status.UNKNOWN
        job.error = f"{reason}; the job may still finish at the provider: resume('{job.id}')"
        self._save(job)
        log.warning("job %s: %s", job.id, job.error)
        job._emit(job.error)

    # -- submit ---------------------------------------------------------------
    def record(self, job: Job, checked: CheckedRequest | None) -> None:
        """Write the job to the journal, before anything is sent."""
        request = checked.record if checked is not None else job.request.to_dict()
        fingerprint = checked.fingerprint if checked is not None else None
        cost = job.cost
        amount = getattr(cost, "amount", cost if isinstance(cost, (int, float)) else None)
        self.journal.insert(JobRecord(
            id=job.id, provider=job.provider, model=job.model, request=request,
            status=SUBMITTING, phase=SUBMITTING, created_at=job.created_at,
            updated_at=time.time(), base_url=self.base_url, fingerprint=fingerprint,
            cost=amount, currency=getattr(cost, "currency", None), tags=job.tags,
        ))

    async def submit(self, job: Job, checked: CheckedRequest | None = None) -> None:
        """Record ``job`` in the journal, then send its submit (429s retried, one record).

        Raises :class:`~hh_notebook.errors.ValidationError` when the request cannot be
        translated (nothing recorded or sent), :class:`ProviderError` (nothing was created:
        400/401/403/406, a connection refused, 429 after the bounded retries) or
        :class:`SubmitUncertain` (the job may exist; it is marked unknown).
        """
        self.attach(job)
        checked = self.provider.checked(checked or job.request)
        call = self.provider.build_submit(checked, self._key.reveal(), self.base_url)
        self.record(job, checked)
        log.debug("job %s: submitting %r", job.id, call)
        job._emit("submitting")
        try:
            state = await self._retrying(
                job, "submit", lambda: self._submit_once(call),
                max_limited=self.policy.submit_rate_limit_retries, long_limit_gives_up=True)
        except _GaveUp as exc:
            self._finish(job, Status.FAILED, self._error_text(exc.last),
                         "rate limited: the job was not submitted")
            raise exc.last from None
        except _Uncertain as exc:
            job.status = Status.UNKNOWN
            job.error = (
                f"the submit may have reached {self.provider.name} but no usable answer came "
                f"back ({self._error_text(exc)}); it was not resent. Use reconcile('{job.id}') "
                "to look for it."
            )
            self._save(job)
            job._emit("submit uncertain: marked unknown, not resent")
            raise SubmitUncertain(f"job {job.id}: {job.error}", job) from None
        except ProviderError as exc:
            self._finish(job, Status.FAILED, self._error_text(exc), "submit rejected")
            raise
        job.provider_job_id = state.provider_job_id
        # Local clock (not the provider's ``created``: other clock, often whole seconds).
        job.submitted_at = time.time()
        job.phase = "polling"
        job.apply(state)
        self._save(job)
        log.info("job %s: accepted by %s as %s", job.id, self.provider.name, job.provider_job_id)
        job._emit(f"accepted as {job.provider_job_id}")

    async def _submit_once(self, call: HttpCall) -> JobState:
        try:
            answer = await send(call, self.policy.read_timeout)
        except httpx.TransportError as exc:
            if is_pre_send(exc):
                raise ProviderError(
                    self.provider.name, None, "connection_failed",
                    f"could not connect to {self.base_url} ({type(exc).__name__}); "
                    "nothing was submitted",
                ) from None
            raise _Uncertain(f"{type(exc).__name__}: {exc}") from None
        try:
            return self.provider.parse_submit(answer.status, answer.headers, answer.body)
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

    async def _ask(self, job: Job, build: Callable[[], HttpCall],
                   parse: Callable[..., JobState], what: str) -> JobState | None:
        """One logical status/result call under the retry policy; None (the job marked
        unknown) when retries are exhausted or the provider refuses to answer."""

        async def attempt() -> JobState:
            answer = await send(build(), self.policy.read_timeout)
            return parse(answer.status, answer.headers, answer.body)

        try:
            return await self._retrying(
                job, what, attempt, transient=_TRANSIENT, max_errors=self.policy.max_poll_errors,
                # Retries respect the provider's polling floor too (aggregator: >= 5 s).
                floor=self.provider.min_poll_interval)
        except _GaveUp as exc:
            self._lose(job, str(exc))
        except ProviderError as exc:
            self._lose(job, f"{what} refused: {self._error_text(exc)}")
        return None

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
            state = await self._ask(job, lambda: provider.build_poll(
                job.provider_state(), self._key.reveal(), self.base_url),
                provider.parse_poll, "status check")
            last_call = self._provider_elapsed(job)  # after any retries inside
            if state is None or await self._settle(job, state):
                return
        self._lose(job, "polling limit reached")

    async def _settle(self, job: Job, state: JobState) -> bool:
        """Apply one status answer; True when polling is over (ended, lost or generated)."""
        provider = self.provider
        if state.status is Status.SUCCEEDED:
            job.apply(state)
            if provider.needs_result(state):
                result = await self._ask(job, lambda: provider.build_result(
                    job.provider_state(), self._key.reveal(), self.base_url),
                    provider.parse_result, "result fetch")
                if result is None:
                    return True
                state = result
                job.apply(state)
            if state.status is Status.SUCCEEDED:
                job.phase = "downloading"
                job.progress = 100.0
                self._save(job)
                job._emit("generated; downloading")
                return True
        if state.status in (Status.FAILED, Status.EXPIRED):
            job.apply(state)
            error = state.error or "failed" if state.status is Status.FAILED else state.error
            self._finish(job, state.status, error, f"{state.status.value}: {state.error}")
            return True
        if job.apply(state):
            self._save(job)
            job._emit(None)
        return False

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
            await self._fetch(job, call, part)
            _check_mp4(part)
            os.replace(part, final)
        except Gone as exc:
            part.unlink(missing_ok=True)
            self._finish(job, Status.EXPIRED, str(exc), "expired before download")
            return
        except DownloadFailed as exc:
            # A transient failure keeps the phase, so resume() retries the download.
            part.unlink(missing_ok=True)
            self._finish(job, Status.FAILED, f"download failed: {self._error_text(exc)}",
                         "download failed", keep_phase=exc.retryable)
            return
        job.video_path = final
        job.progress = 100.0
        self._finish(job, Status.SUCCEEDED, None, f"done: {final.name}")

    async def _fetch(self, job: Job, call: HttpCall, part: Path) -> None:
        attempts = self.policy.download_attempts
        try:
            await self._retrying(
                job, "download", lambda: download_once(call, part, self.policy.max_clip_bytes),
                transient=(TransientDownload,), max_errors=attempts - 1, error_cap=5.0)
        except _GaveUp as exc:
            raise DownloadFailed(f"gave up after {attempts} attempts ({exc.last})",
                                 retryable=True) from None
        except RateLimited as exc:  # pragma: no cover - downloads report 429 as transient
            raise DownloadFailed(str(exc), retryable=True) from None

    # -- reconcile ---------------------------------------------------------------
    async def find_lost_submit(self, job: Job, window: float = 600.0) -> str | None:
        """The provider id of the task a lost submit created, from the task list.

        Matches on prompt, model and creation time (within ``window`` real seconds of the
        local record), skipping tasks another journal job owns. Raises :class:`HHError` when
        the provider has no task list.
        """
        provider = self.provider
        if not provider.supports_list:
            raise HHError(
                f"{provider.name} offers no task list: job {job.id} cannot be reconciled "
                "automatically; look for a request created around "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(job.created_at))} "
                "in the provider's dashboard"
            )
        wanted_model = provider.model_id(job.request)
        best: tuple[float, str] | None = None
        for page in range(1, 4):
            tasks = await self._list_page(page)
            found = best_match(job, tasks, model_id=wanted_model, window=window, owned=lambda pid:
                               self.journal.find_by_provider_id(provider.name, pid) is not None)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
            if len(tasks) < _LIST_PAGE:
                break
        return best[1] if best else None

    async def _list_page(self, page: int) -> list[ListedTask]:
        """One page of the provider's task list, under the retry policy."""
        call = self.provider.build_list(self._key.reveal(), self.base_url, page, _LIST_PAGE)

        async def attempt() -> list[ListedTask]:
            answer = await send(call, self.policy.read_timeout)
            return self.provider.parse_list(answer.status, answer.headers, answer.body)

        try:
            return await self._retrying(None, "task list", attempt, transient=_TRANSIENT,
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


def _check_mp4(path: Path) -> None:
    """Raise unless ``path`` starts with an MP4 ``ftyp`` box."""
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 12 or head[4:8] != b"ftyp":
        raise DownloadFailed("the downloaded file is not an MP4 (no ftyp box)", retryable=False)
