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
import contextlib
import logging
import re
import time
from collections.abc import Callable

import httpx

from ..errors import HHError, ProviderError, ServerError, SubmitUncertain
from ..journal import JobRecord, JournalError
from ..providers.base import HttpCall, JobState, Status, UnexpectedAnswer
from ..request import CheckedRequest
from .base import LEASE_SECONDS, OWNER, TRANSIENT, _GaveUp, _Uncertain
from .download import DownloadSteps
from .job import SUBMITTING, Job
from .reconcile import ReconcileSteps
from .transport import AnswerTooLarge, is_pre_send, send

__all__ = ["Lifecycle"]

log = logging.getLogger(__name__)

#: What a usable provider job id looks like (it goes into URLs and the journal).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~-]{0,199}")


def _usable_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _describe_id(value: object) -> str:
    if not isinstance(value, str):
        return f"a {type(value).__name__}"
    return f"{len(value)} characters" if len(value) > 60 else repr(value)


class Lifecycle(DownloadSteps, ReconcileSteps):
    """Runs jobs of one provider, at one base URL, with one key: submit, poll, fetch the
    result, download, reconcile, and follow jobs other processes track."""

    # -- submit ---------------------------------------------------------------
    def record(self, job: Job, checked: CheckedRequest | None, claim: str | None = None) -> None:
        """Write the job to the journal, owned by this process, before anything is sent.
        Raises :class:`~hh_notebook.journal.ClaimTaken` (nothing written) when another
        unfinished job holds ``claim``."""
        request = checked.record if checked is not None else job.request.to_dict()
        fingerprint = checked.fingerprint if checked is not None else None
        cost = job.cost
        amount = getattr(cost, "amount", cost if isinstance(cost, (int, float)) else None)
        self.journal.insert(JobRecord(
            id=job.id, provider=job.provider, model=job.model, request=request,
            status=SUBMITTING, phase=SUBMITTING, created_at=job.created_at,
            updated_at=time.time(), base_url=self.base_url, fingerprint=fingerprint,
            cost=amount, currency=getattr(cost, "currency", None), tags=job.tags,
            claim=claim, owner=OWNER, heartbeat=time.time(),
        ))

    async def submit(self, job: Job, checked: CheckedRequest | None = None, *,
                     claim: str | None = None) -> None:
        """Record ``job`` in the journal (holding ``claim``), then send its submit (429s
        retried, one record).

        Raises :class:`~hh_notebook.errors.ValidationError` when the request cannot be
        translated, :class:`~hh_notebook.journal.ClaimTaken` when another unfinished job
        holds the claim (nothing recorded or sent in either case), :class:`ProviderError`
        (nothing was created: 400/401/403/406, a connection refused, 429 after the bounded
        retries) or :class:`SubmitUncertain` (the job may exist; it is marked unknown).
        """
        self.attach(job)
        checked = self.provider.checked(checked or job.request)
        call = self.provider.build_submit(checked, self._key.reveal(), self.base_url)
        self.record(job, checked, claim)
        log.debug("job %s: submitting %r", job.id, call)
        job._emit("submitting")
        await self._send_submit(job, call)

    async def resend(self, job: Job) -> None:
        """Send again the submit of a job whose first submit provably never arrived (absent
        from the provider's task list after the reconcile grace): same job, same record, same
        claim. Raises like :meth:`submit`."""
        self.attach(job)
        self._own(job)
        checked = self.provider.checked(job.request)
        call = self.provider.build_submit(checked, self._key.reveal(), self.base_url)
        job.status = Status.QUEUED
        job.error = None
        job._emit("the first submit never arrived (not in the task list): sending it now")
        await self._send_submit(job, call)

    async def _send_submit(self, job: Job, call: HttpCall) -> None:
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
        if not _usable_id(state.provider_job_id):
            job.status = Status.UNKNOWN
            job.error = (f"{self.provider.name} accepted the submit but answered with an "
                         f"unusable job id ({_describe_id(state.provider_job_id)}); it cannot "
                         "be followed. Look for it in the provider's dashboard.")
            self._save(job)
            job._emit(job.error)
            raise SubmitUncertain(f"job {job.id}: {job.error}", job)
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
        except AnswerTooLarge as exc:
            raise _Uncertain(str(exc)) from None
        try:
            return self.provider.parse_submit(answer.status, answer.headers, answer.body)
        except (ServerError, UnexpectedAnswer) as exc:
            raise _Uncertain(str(exc)) from None

    # -- tracking -------------------------------------------------------------
    async def track(self, job: Job) -> None:
        """Poll, fetch the result and download until the job is finished (or waiting has
        gone on past the policy's deadline: the job stays resumable); never raises."""
        self.attach(job)
        self._own(job)
        try:
            if job.phase == "polling":
                await self._poll_until_done(job)
            if job.phase == "downloading" and job.status is not Status.UNKNOWN:
                await self._download(job)
        except asyncio.CancelledError:
            job._emit("tracking cancelled (the job keeps running at the provider; resume it)")
            raise
        except JournalError as exc:  # a full disk, a lost file: the last saved state stands
            job.error = f"{exc} The job can be resumed: resume('{job.id}')."
            log.error("job %s: %s", job.id, job.error)
            job._emit(job.error)
        except Exception as exc:  # noqa: BLE001 - the lifecycle must not die silently
            log.error("job %s: lifecycle error: %s", job.id, self._error_text(exc))
            job.status = Status.UNKNOWN
            job.error = f"internal error while tracking: {self._error_text(exc)}"
            with contextlib.suppress(JournalError):
                self._save(job)
            job._emit(job.error)
        finally:
            self._disown(job)

    async def _ask(self, job: Job, build: Callable[[], HttpCall],
                   parse: Callable[..., JobState], what: str) -> JobState | None:
        """One logical status/result call under the retry policy; None (the job marked
        unknown) when retries are exhausted or the provider refuses to answer."""

        async def attempt() -> JobState:
            answer = await send(build(), self.policy.read_timeout)
            return parse(answer.status, answer.headers, answer.body)

        try:
            return await self._retrying(
                job, what, attempt, transient=TRANSIENT, max_errors=self.policy.max_poll_errors,
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
        # The deadline counts from now (a job resumed the next morning is asked at once) and
        # only stops the waiting: the job is never abandoned, a later resume asks again.
        wait = self.policy.wait_seconds(self.time_scale)
        deadline = time.monotonic() + wait
        # Bounded: the whole wait at no less than the floor per call.
        max_polls = int(wait / max(provider.min_poll_interval * self.time_scale, 1e-3)) + 10
        for _ in range(max_polls):
            since = self._provider_elapsed(job)
            if planned is None and since >= provider.typical_duration[1]:
                planned = since  # overdue already (a resume): ask now
            else:
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
            if time.monotonic() > deadline:
                break
        self._stop_waiting(job)

    def _stop_waiting(self, job: Job) -> None:
        minutes = self.policy.wait_seconds(self.time_scale) / 60
        job.message = (f"still running at {self.provider.name} after {minutes:.0f} min of "
                       f"waiting; not abandoned: resume('{job.id}') asks again later "
                       f"({self.retention()})")
        log.info("job %s: %s", job.id, job.message)
        job._emit(job.message)

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
            error = state.error or "failed"
            if state.status is Status.EXPIRED:
                error = f"{error} ({self.retention()})"
            self._finish(job, state.status, error, f"{state.status.value}: {state.error}")
            return True
        if job.apply(state):
            self._save(job)
            job._emit(None)
        return False

    # -- following a job another process tracks ------------------------------------
    async def follow(self, job: Job) -> None:
        """Mirror a job another live process tracks, from the journal (no provider call),
        until it ends; take it over — resume it, never resubmit it — if that process goes
        away. Bounded by the policy's deadline, after which waiting stops (the job is not
        abandoned). Never raises."""
        self.attach(job)
        interval = min(5.0, max(0.05, self.provider.min_poll_interval * self.time_scale))
        rounds = int(self.policy.wait_seconds(self.time_scale) / interval) + 1
        try:
            for _ in range(rounds):
                record = self.journal.get(job.id)
                if job.mirror(record):
                    job._emit(None if record.unfinished else job.error or "done")
                if not record.unfinished:
                    return
                if self.journal.take_over(job.id, OWNER, lease=LEASE_SECONDS):
                    if record.provider_job_id is None:
                        job._emit("the process sending this job stopped: taken over here")
                        await self.settle(job)
                        return
                    job._emit("the process tracking this job stopped: taken over here")
                    await self.track(job)
                    return
                await asyncio.sleep(interval)
            self._stop_waiting(job)
        except JournalError as exc:
            job.error = str(exc)
            job._emit(job.error)

    async def settle(self, job: Job) -> None:
        """Settle a lost submit this process now owns (its sender died, or its answer was
        lost), then track the job; never raises.

        Where the provider lists its tasks, the task it created is adopted; when the list
        still shows none once :attr:`PollPolicy.reconcile_grace` has passed since the submit
        (waited out here, bounded), it provably never arrived and is sent again — same job,
        one record. Without a task list, or when several tasks fit, the job stays unknown and
        says what to check: it may exist, so it is never resent blindly."""
        self.attach(job)
        self._own(job)  # the lease is renewed while the grace is waited out
        try:
            if not self.provider.supports_list:
                self._orphaned_submit(job)
                return
            for _ in range(3):  # now, after the grace, once more if the clock was early
                try:
                    adopted = await self.look_for_lost_submit(job)
                except HHError as exc:
                    job.status = Status.UNKNOWN
                    job.error = f"{exc}; reconcile('{job.id}') later"
                    self._save(job)
                    job._emit(job.error)
                    return
                if adopted is None:  # several tasks fit: left unknown, candidates named
                    return
                if adopted:
                    await self.track(job)
                    return
                wait = self.policy.reconcile_grace - (time.time() - job.created_at)
                if wait <= 0:
                    break
                job.status = Status.UNKNOWN
                job._emit(f"not in {self.provider.name}'s task list yet: looking again in "
                          f"{wait:.0f} s")
                await asyncio.sleep(wait + 0.05)
            else:
                self._orphaned_submit(job)
                return
            try:
                await self.resend(job)
            except (ProviderError, SubmitUncertain):
                return  # recorded as failed (nothing created) or unknown (not resent again)
            await self.track(job)
        except asyncio.CancelledError:
            raise
        except JournalError as exc:
            job.error = str(exc)
            job._emit(job.error)
        except Exception as exc:  # noqa: BLE001 - the lifecycle must not die silently
            job.status = Status.UNKNOWN
            job.error = f"internal error while settling a lost submit: {self._error_text(exc)}"
            with contextlib.suppress(JournalError):
                self._save(job)
            job._emit(job.error)
        finally:
            self._disown(job)

    def _orphaned_submit(self, job: Job) -> None:
        """A submit whose process died before the answer: it may exist, so it is not resent."""
        job.status = Status.UNKNOWN
        if self.provider.supports_list:
            job.error = (f"the submit's answer was lost and {self.provider.name}'s task list "
                         f"does not settle it; it was not resent. Use reconcile('{job.id}') "
                         "later.")
        else:
            sent = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.created_at))
            job.error = (f"no answer came back for this submit, so it may exist at "
                         f"{self.provider.name} and was not resent; {self.provider.name} "
                         f"offers no task list: look for a request sent around {sent} in "
                         "its dashboard")
        self._save(job)
        job._emit(job.error)
