"""The client: one object to submit, follow, resume and list HappyHorse jobs.

>>> from hh_notebook import Client            # doctest: +SKIP
>>> client = Client()                         # doctest: +SKIP
>>> job = client.generate("A white horse gallops along a beach at dawn", duration=5)
... # doctest: +SKIP
>>> job.status, job.video_path                # doctest: +SKIP
(<Status.SUCCEEDED: 'succeeded'>, PosixPath('.../clips/....mp4'))

(``Client()`` takes a key from the environment, or runs on the local sandbox.)

``generate`` blocks, and works both in a plain script and inside a running
event loop such as Jupyter's (nested with ``nest_asyncio2``). The async API
(``await client.submit(request)`` then ``await job.wait()``) is the same
lifecycle without blocking.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .config import Secret, check_number, resolve_settings
from .errors import ConfigError, HHError, SubmitUncertain, ValidationError
from .jobs import Job, Lifecycle, PollPolicy, new_job_id
from .jobs.base import LEASE_SECONDS, OWNER
from .journal import ClaimTaken, JobRecord, Journal
from .present import SANDBOX_TAG, TextProgress, format_seconds
from .pricing import CostEstimate, estimate_cost
from .providers import Status, get_provider
from .request import CheckedRequest, GenerationRequest
from .runtime import in_kernel, run_blocking, thread_loop

__all__ = ["Client", "Prepared", "client_for", "default_client", "generate"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Prepared:
    """A request checked and priced for one client's provider (:meth:`Client.prepare`):
    submitting it checks and prices nothing again."""

    checked: CheckedRequest
    estimate: CostEstimate | None

    @property
    def request(self) -> GenerationRequest:
        """The request itself."""
        return self.checked.request


class Client:
    """Submit and follow HappyHorse jobs at one provider.

    Arguments (all optional; see :mod:`hh_notebook.config` for the defaults):
    ``provider`` (``"segmind"``, ``"apiframe"``, ``"hiapi"``, ``"openai"``),
    ``api_key``, ``base_url``, ``data_dir`` (journal and clips),
    ``time_scale`` (multiplies every provider-time wait; by default the
    sandbox's own scale, 1.0 for real providers), ``sandbox`` (True: use the
    local sandbox whatever keys are set) and ``poll_policy``.
    """

    def __init__(
        self,
        provider: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        time_scale: float | None = None,
        *,
        sandbox: bool | None = None,
        poll_policy: PollPolicy | None = None,
    ) -> None:
        settings = resolve_settings(provider, api_key, base_url, data_dir, sandbox=sandbox)
        self.provider: str = settings.provider
        self.base_url: str = settings.base_url
        self.is_sandbox: bool = settings.is_sandbox
        self.data_dir: Path = settings.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.data_dir / "journal.sqlite3")
        problem = None if time_scale is None else check_number("time_scale", time_scale)
        if problem is not None:
            raise ValidationError([problem])
        self.time_scale: float = (
            float(time_scale) if time_scale is not None
            else settings.sandbox_time_scale or 1.0
        )
        self._key: Secret = settings.api_key
        self._spec = get_provider(self.provider)
        self._lifecycle = Lifecycle(
            self._spec, self._key, self.base_url, self.journal, self.data_dir / "clips",
            time_scale=self.time_scale, policy=poll_policy,
        )
        self._active: dict[str, Job] = {}

    def __repr__(self) -> str:
        where = " (sandbox)" if self.is_sandbox else ""
        return (
            f"Client(provider={self.provider!r}, base_url={self.base_url!r}{where}, "
            f"data_dir={str(self.data_dir)!r})"
        )

    # -- requests ----------------------------------------------------------------
    @staticmethod
    def _request(request_or_prompt: GenerationRequest | str, params: dict[str, Any]
                 ) -> GenerationRequest:
        if isinstance(request_or_prompt, GenerationRequest):
            return request_or_prompt.replace(**params) if params else request_or_prompt
        if isinstance(request_or_prompt, str):
            return GenerationRequest(prompt=request_or_prompt, **params)
        raise TypeError("expected a GenerationRequest or a prompt string, got "
                        f"{type(request_or_prompt).__name__}")

    def estimate(self, request: GenerationRequest | CheckedRequest | str,
                 **params: Any) -> CostEstimate:
        """The expected cost of ``request`` here (a :class:`~hh_notebook.pricing.CostEstimate`)."""
        if isinstance(request, CheckedRequest) and not params:
            return self._priced(estimate_cost(request, self.provider))
        plain = request.request if isinstance(request, CheckedRequest) else request
        return self._priced(estimate_cost(self._request(plain, params), self.provider))

    def _priced(self, estimate: CostEstimate) -> CostEstimate:
        # Work on a sandbox is shown with the provider's price but never paid or summed.
        return estimate.on_sandbox() if self.is_sandbox else estimate

    def prepare(self, request: GenerationRequest | str | Prepared, **params: Any) -> Prepared:
        """Check ``request`` for this provider and price it, once: raises
        :class:`~hh_notebook.errors.ValidationError` naming every problem, before anything is
        sent. Hand the result to :meth:`submit`.

        >>> Client().prepare("a red kite", duration=4).estimate   # doctest: +SKIP
        CostEstimate(amount=0.56, ...)
        """
        if isinstance(request, Prepared) and not params:
            return request
        plain = request.request if isinstance(request, Prepared) else request
        checked = self._request(plain, params).check(self.provider)
        try:
            estimate: CostEstimate | None = self._priced(estimate_cost(checked, self.provider))
        except HHError:
            estimate = None
        return Prepared(checked, estimate)

    # -- submitting ----------------------------------------------------------------
    async def submit(
        self,
        request: GenerationRequest | str | Prepared,
        *,
        force: bool = False,
        tags: dict[str, Any] | None = None,
        claim: str | None = None,
        **params: Any,
    ) -> Job:
        """Validate, record and submit ``request``; returns a :class:`Job` followed in background.

        Raises :class:`~hh_notebook.errors.ValidationError` before any HTTP
        request, a :class:`~hh_notebook.errors.ProviderError` when the provider
        refused the job (nothing was created), or
        :class:`~hh_notebook.errors.SubmitUncertain` when the job may exist
        (recorded as unknown: see :meth:`reconcile`). A request with an explicit
        seed that already succeeded here with identical parameters returns the
        stored clip (``from_cache=True``, cost 0) unless ``force=True``.
        ``tags`` (JSON-safe) are stored with the job, e.g. a sweep id and cell.
        A :class:`Prepared` request (from :meth:`prepare`) is not checked or priced again.

        Never paid twice: while an identical seeded request is unfinished — submitted by this
        process, a crashed one, or another kernel sharing the data folder — it *is* the same
        job, and this call attaches to it (``job.attached``) instead of paying again. The
        journal makes that atomic across processes. ``claim`` names what else must be one
        job while unfinished (a sweep cell); ``force=True`` pays again on purpose.
        """
        prepared = self.prepare(request, **params)
        checked = prepared.checked
        seeded = checked.request.seed is not None
        if self.is_sandbox:  # recorded, so that no total ever counts it as money
            tags = {**(tags or {}), SANDBOX_TAG: True}
        if seeded and not force:
            # A synthetic clip never stands in for a real one, nor a real one for a test.
            paid = self.journal.find_paid(checked.fingerprint, sandbox=self.is_sandbox)
            if paid is not None:
                log.info("job %s: identical seeded request already paid; reusing its clip",
                         paid.id)
                return Job.from_record(paid, from_cache=True)
        claim = None if force else (claim or (checked.fingerprint if seeded else None))
        if claim and self.is_sandbox:  # a sandbox job never holds a real request's claim
            claim += "@sandbox"
        holder = self.journal.find_claim(claim) if claim else None
        if holder is not None:
            return await self._attach(holder)
        job = Job(id=new_job_id(), request=checked.request, provider=self.provider,
                  model=checked.version, cost=prepared.estimate, tags=tags)
        try:
            await self._lifecycle.submit(job, checked, claim=claim)
        except ClaimTaken as taken:  # another process got there first: nothing was sent
            return await self._attach(taken.holder)
        self._start(job)
        return job

    async def _attach(self, record: JobRecord) -> Job:
        """The unfinished job holding a claim, followed here instead of paying again: watched
        while another live process tracks it, taken over (resumed) if its process is gone."""
        self._check_provider(record)
        for active in (self._active.get(record.id), _TRACKED.get(record.id)):
            if active is not None and active.tracking:
                active.attached = True
                return active
        ago = format_seconds(max(0.0, time.time() - (record.submitted_at or record.created_at)))
        log.info("job %s: identical unfinished request: attached to it instead of paying again",
                 record.id)
        try:
            job = await self.resume(record.id)
        except HHError as exc:
            raise SubmitUncertain(
                f"an identical request (job {record.id}) was sent {ago} ago by a process that "
                f"stopped before {self.provider} answered, so it may exist and was not paid "
                f"again: {exc}. Pass force=True to pay for a new one.",
                Job.from_record(record)) from None
        job.attached = True
        job._emit(f"attached to job {record.id[:12]} submitted {ago} ago (not paid again)")
        return job

    def _start(self, job: Job, *, follow: bool = False, settle: bool = False) -> None:
        if settle:
            run = self._lifecycle.settle(job)
        else:
            run = self._lifecycle.follow(job) if follow else self._lifecycle.track(job)
        job._task = asyncio.get_running_loop().create_task(run, name=f"hh-job-{job.id}")
        self._active[job.id] = job
        _TRACKED[job.id] = job

    async def generate_async(
        self,
        request_or_prompt: GenerationRequest | str,
        *,
        force: bool = False,
        tags: dict[str, Any] | None = None,
        timeout: float | None = None,
        progress: bool = False,
        **params: Any,
    ) -> Job:
        """Submit and wait for the clip; raises if the job does not end with one.

        ``progress=True`` prints one status line to stderr, rewritten in place
        (:class:`~hh_notebook.present.TextProgress`).

        Raises :class:`~hh_notebook.errors.JobFailed`,
        :class:`~hh_notebook.errors.JobExpired`,
        :class:`~hh_notebook.errors.DownloadError` or
        :class:`~hh_notebook.errors.SubmitUncertain` (each with ``.job``), and
        :class:`TimeoutError` after ``timeout`` real seconds (the job goes on).
        """
        problem = None if timeout is None else check_number("timeout", timeout)
        if problem is not None:  # checked before anything is sent (NaN would never end)
            raise ValidationError([problem])
        job = await self.submit(request_or_prompt, force=force, tags=tags, **params)
        unsubscribe = job.subscribe(TextProgress()) if progress else None
        try:
            await job.wait(timeout)
        finally:
            if unsubscribe is not None:
                unsubscribe()
        return job.raise_for_status()

    def generate(
        self,
        request_or_prompt: GenerationRequest | str,
        *,
        force: bool = False,
        tags: dict[str, Any] | None = None,
        timeout: float | None = None,
        progress: bool | None = None,
        **params: Any,
    ) -> Job:
        """Blocking :meth:`generate_async`: returns the finished :class:`Job` with its clip.

        In plain Python (not in a notebook kernel) a text progress line on stderr
        says where the job stands while it blocks; ``progress=True``/``False``
        forces it on or off. In a notebook, ``hh_notebook.show`` gives the widget.

        >>> job = Client().generate("A red kite over the dunes", seed=7)  # doctest: +SKIP
        """
        if progress is None:
            progress = not in_kernel()
        return self._run(self.generate_async(
            request_or_prompt, force=force, tags=tags, timeout=timeout, progress=progress,
            **params,
        ))

    # -- blocking facade --------------------------------------------------------------
    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return run_blocking(coro)

    def close(self) -> None:
        """Stop tracking every job of this client and close its journal."""
        tasks = [job._task for job in self._active.values()
                 if job._task is not None and not job._task.done()]
        if self._lifecycle.heartbeat is not None:  # the leases' heartbeat goes with them
            tasks.append(self._lifecycle.heartbeat)
        for task in tasks:
            task.cancel()
        own = thread_loop()
        mine = [task for task in tasks if own is not None and task.get_loop() is own]
        if mine and own is not None and not own.is_running():
            own.run_until_complete(asyncio.gather(*mine, return_exceptions=True))
        self.journal.close()

    # -- listing and resuming ----------------------------------------------------------
    def jobs(self, *, unfinished: bool = False, all_providers: bool = True) -> list[JobRecord]:
        """Journal records, newest first (all providers unless ``all_providers=False``)."""
        return self.journal.jobs(
            provider=None if all_providers else self.provider, unfinished=unfinished
        )

    def job(self, job_id: str) -> Job:
        """The live :class:`Job` if this client tracks it, else one rebuilt from the journal."""
        if job_id in self._active:
            return self._active[job_id]
        tracked = _TRACKED.get(job_id)
        if tracked is not None and tracked.tracking:
            return tracked
        return Job.from_record(self.journal.get(job_id))

    def _check_provider(self, record: JobRecord) -> None:
        if record.provider != self.provider:
            raise ConfigError(
                f"job {record.id} was submitted to {record.provider}; resume it with "
                f"Client(provider={record.provider!r})"
            )

    async def resume(self, job_id: str) -> Job:
        """Continue an unfinished job (after a restart) without submitting it again.

        A job already being tracked is returned as is. A job whose submit was never
        answered is settled in the background: where the provider lists its tasks, the task
        it created is adopted, or — once the list still shows none after
        ``PollPolicy.reconcile_grace`` — the submit provably never arrived and is sent again
        (same job, one record). Elsewhere it stays unknown: it may exist, so it is not resent.
        """
        # Already followed here, or by another client of this process (a widget, the magic)?
        for active in (self._active.get(job_id), _TRACKED.get(job_id)):
            if active is not None and active.tracking:
                if _loop_runs(active):
                    return active
                # Its loop stopped with the task pending (an ``asyncio.run`` under
                # nest-asyncio leaves tasks behind): it will never move, so track it here.
                if active._task is not None:
                    active._task.cancel()
        record = self.journal.get(job_id)
        job = Job.from_record(record)
        if not record.unfinished:
            return job
        self._check_provider(record)
        self._lifecycle.attach(job)
        if not self.journal.take_over(job_id, OWNER, lease=LEASE_SECONDS):
            # Another live process tracks it: watch it through the journal (and take over
            # if that process goes away).
            self._start(job, follow=True)
            return job
        if record.provider_job_id is None:
            # Its submit's answer was lost: adopt the task it created, or send it again once
            # the task list proves it never arrived (in the background; see Lifecycle.settle).
            job._emit("resumed: looking for its lost submit")
            self._start(job, settle=True)
            return job
        if job.status in (Status.UNKNOWN, Status.FAILED) and job.phase in ("polling",
                                                                           "downloading"):
            job.status = Status.RUNNING  # tracking was lost / a download failed: try again
            job.error = None
            job.finished_at = None
        self._start(job)
        job._emit("resumed")
        return job

    async def resume_all_async(self) -> list[Job]:
        """Resume every unfinished job of this provider; returns them (tracked in background)."""
        resumed = []
        for record in self.journal.jobs(provider=self.provider, unfinished=True):
            try:
                resumed.append(await self.resume(record.id))
            except HHError as exc:
                log.warning("job %s could not be resumed: %s", record.id, exc)
        return resumed

    def resume_all(self, *, wait: bool = True, timeout: float | None = None) -> list[Job]:
        """Blocking: resume every unfinished job of this provider and (by default) wait for them."""

        async def run() -> list[Job]:
            jobs = await self.resume_all_async()
            if wait:
                await asyncio.wait_for(
                    asyncio.gather(*(j.wait() for j in jobs)), timeout
                )
            return jobs

        return self._run(run())

    async def reconcile(self, job_id: str) -> Job:
        """Resolve a job whose submit answer was lost (status unknown).

        Where the provider lists its tasks (HiAPI), the task created at that
        moment is found and tracked, or the job is marked failed when no such
        task exists (nothing was charged). Elsewhere the job stays unknown and
        :class:`~hh_notebook.errors.HHError` says what to check by hand.
        """
        record = self.journal.get(job_id)
        if record.provider_job_id is not None:
            return await self.resume(job_id)
        self._check_provider(record)
        job = Job.from_record(record)
        self._lifecycle.attach(job)
        return await self._reconcile_job(job)

    async def _reconcile_job(self, job: Job) -> Job:
        adopted = await self._lifecycle.look_for_lost_submit(job)
        if adopted:
            self._start(job)
        elif adopted is False:
            self._lifecycle.never_arrived(job)
        return job

    def cancel(self, job_id: str) -> None:
        """Stop tracking a job (providers cannot cancel generation; it can be resumed later)."""
        job = self._active.get(job_id)
        if job is not None and job._task is not None and not job._task.done():
            job._task.cancel()


def _loop_runs(job: Job) -> bool:
    """True when ``job`` is tracked on this loop or on one that runs (in another thread)."""
    assert job._task is not None
    there = job._task.get_loop()
    return there is asyncio.get_running_loop() or there.is_running()


#: Jobs being followed by any client of this process (weakly held), so that two
#: clients never track, poll and download the same job twice.
_TRACKED: weakref.WeakValueDictionary[str, Job] = weakref.WeakValueDictionary()

_default: Client | None = None
_default_lock = threading.Lock()


def client_for(provider: str | None, clients: dict[str | None, Client]) -> Client:
    """The client for ``provider`` (None: the default choice; ``"sandbox"``: the local
    sandbox), cached in ``clients``. A provider without its key is a
    :class:`~hh_notebook.errors.ConfigError`: it never falls back to the sandbox."""
    if provider not in clients:
        clients[provider] = Client(provider=provider)
    return clients[provider]


def default_client() -> Client:
    """The process-wide :class:`Client` built from the environment (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default


_by_provider: dict[str | None, Client] = {}


def generate(prompt: str | GenerationRequest, *, provider: str | None = None,
             **params: Any) -> Job:
    """Generate one clip, blocking until it is on disk: with the default client, or with
    ``provider`` (``"segmind"``, ``"apiframe"``, ``"hiapi"``, ``"openai"``, or ``"sandbox"``
    for the local sandbox), whose client is made once and kept.

    >>> job = generate("A horse made of clouds", duration=4, seed=1)  # doctest: +SKIP
    >>> job.video_path                                                # doctest: +SKIP
    >>> generate("A horse made of clouds", provider="sandbox")        # doctest: +SKIP
    """
    if provider is None:
        return default_client().generate(prompt, **params)
    with _default_lock:
        client = client_for(provider, _by_provider)
    return client.generate(prompt, **params)
