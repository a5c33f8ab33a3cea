"""Running a sweep: the :class:`Sweep` object, its cells' jobs and their states.

Every cell is one job submitted through the public :class:`~hh_notebook.client.Client` API,
a bounded number at a time per provider; the sweep only follows the jobs (rate limits,
retries and the journal are the jobs' lifecycle's business). Resuming: a sweep's id is
derived from its content, so building the same sweep again after a restart finds its jobs
in the journal: finished cells are reused, running ones followed again, the rest submitted.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from .. import catalog
from ..client import Client, Prepared
from ..config import check_number
from ..errors import SubmitUncertain, ValidationError
from ..jobs import Job
from ..present import TextProgress, is_sandbox_work, shorten
from ..pricing import CostEstimate, estimate_cost
from ..request import GenerationRequest
from ..runtime import in_kernel, run_blocking, show_in_notebook
from .cells import (
    ACTIVE,
    CELL_STATUSES,
    FAILED,
    TAG_CELL,
    TAG_SWEEP,
    CellRun,
    SweepState,
    cost_of,
    find_paid,
    job_active,
    status_text,
)
from .estimate import SweepEstimate, check_budget, check_concurrency, over_budget, settings
from .plan import SweepCell, SweepPlan, layout_of
from .result import SweepResult

__all__ = ["Sweep"]

log = logging.getLogger(__name__)



class Sweep(SweepState):
    """A planned sweep: its cells, what it will cost, and the runs that fill it.

    Build one with :func:`sweep`. Nothing is submitted until :meth:`run`,
    :meth:`run_async` or :meth:`start`. Every cell's job carries the sweep id in
    the journal, so a sweep built again with the same parameters (after a
    kernel restart) picks up where it stopped.
    """

    def __init__(
        self,
        plan: SweepPlan,
        *,
        client: Client | None = None,
        budget: float | dict[str, float] | None = None,
        concurrency: int | None = None,
    ) -> None:
        super().__init__(plan, client)
        self.budget = None if budget is None else check_budget(budget)
        self.concurrency = (settings.concurrency if concurrency is None
                            else check_concurrency(concurrency))
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[SweepResult] | None = None
        self._cancel: asyncio.Event | None = None
        self._estimates: dict[str, CostEstimate] = {}

    # -- estimate -----------------------------------------------------------------------------
    @property
    def estimated_cost(self) -> SweepEstimate:
        """The preview: clips, new vs already paid, total estimated cost and time."""
        return self.estimate()

    def estimate(self) -> SweepEstimate:
        """Compute the preview now (reads the journal for clips already paid for)."""
        self._load_previous()
        by_currency: dict[str, float] = {}
        unknown = cached = resumed = 0
        new_per_provider: dict[str, int] = {}
        for cell in self._plan.cells:
            if self._is_paid(cell):
                cached += 1
                continue
            job_id = self._runs[cell.key].job_id
            if job_id and job_active(self.client_for(cell.provider), job_id):
                resumed += 1  # submitted before (a restart): followed again, not paid again
                continue
            new_per_provider[cell.provider] = new_per_provider.get(cell.provider, 0) + 1
            est = self._estimate_of(cell)
            if est.amount is None:
                unknown += 1
            else:
                by_currency[est.currency] = by_currency.get(est.currency, 0.0) + est.amount
        seconds = max((self._ideal_seconds(p, n) for p, n in new_per_provider.items()), default=0.0)
        return SweepEstimate(
            clips=self.size, new=self.size - cached - resumed, cached=cached, resumed=resumed,
            by_currency={c: round(v, 6) for c, v in by_currency.items()}, unknown=unknown,
            seconds=seconds, concurrency=self.concurrency, sandbox=self.client.is_sandbox,
        )

    def _estimate_of(self, cell: SweepCell) -> CostEstimate:
        """The cell's price, computed once (from its checked request when it has one)."""
        if cell.key not in self._estimates:
            self._estimates[cell.key] = estimate_cost(cell.checked or cell.request,
                                                      cell.provider)
        return self._estimates[cell.key]

    def _ideal_seconds(self, provider: str, count: int) -> float:
        low, high = catalog.facts(provider).typical_duration
        client = self.client_for(provider)
        scale = client.time_scale if client.is_sandbox else 1.0
        return math.ceil(count / self.concurrency) * (low + high) / 2 * scale

    def _is_paid(self, cell: SweepCell) -> bool:
        run = self._runs[cell.key]
        if run.status == "succeeded":
            return True
        if cell.request.seed is None:
            return False
        return find_paid(self.client_for(cell.provider), cell) is not None

    def check_budget(self, budget: float | dict[str, float] | None = None) -> SweepEstimate:
        """Raise :class:`~hh_notebook.errors.BudgetExceeded` if the new clips cost more than
        the budget (``budget``, else the sweep's, else :data:`settings`); return the estimate."""
        est = self.estimate()
        over_budget(est, budget if budget is not None else self.budget, self.id)
        return est

    # -- progress -----------------------------------------------------------------------------
    # -- running ------------------------------------------------------------------------------
    def run(
        self,
        *,
        confirm: bool = False,
        budget: float | dict[str, float] | None = None,
        only_failed: bool = False,
        force: bool = False,
        timeout: float | None = None,
        progress: bool | None = None,
    ) -> SweepResult:
        """Run every cell not finished yet and block until all are done; return the result.

        Refuses with :class:`~hh_notebook.errors.BudgetExceeded` before submitting
        anything when the new clips cost more than the budget, unless ``confirm=True``.
        ``only_failed=True`` re-submits only cells whose job failed, expired or was
        lost. ``force=True`` submits every cell again even if paid before. In plain Python
        (not in a notebook kernel) one status line on stderr follows the sweep while it
        blocks; ``progress=True``/``False`` forces it on or off.
        """
        if not confirm:
            self.check_budget(budget)  # a refusal prints no progress line
        line = TextProgress(label=f"sweep {self.id}") if (
            not in_kernel() if progress is None else progress) else None
        unsubscribe = self.subscribe(
            lambda now, _key: line.update("running", message=str(now))) if line else None
        try:
            # One loop per thread: jobs and HTTP pools belong to the loop they started on,
            # and a later run (rerun_failed) must find them alive.
            return run_blocking(self.run_async(confirm=confirm, budget=budget,
                                               only_failed=only_failed, force=force,
                                               timeout=timeout))
        finally:
            if line is not None and unsubscribe is not None:
                unsubscribe()
                line.update("finished", message=str(self.progress), final=True)

    def rerun_failed(self, *, confirm: bool = False) -> SweepResult:
        """Submit again only the cells that failed (or expired, or were lost); block."""
        return self.run(confirm=confirm, only_failed=True)

    def start(
        self, *, confirm: bool = False, budget: float | dict[str, float] | None = None
    ) -> asyncio.Task[SweepResult]:
        """Start the sweep in the background of the running event loop (a notebook) and return
        the task; the budget is checked first, synchronously."""
        loop = asyncio.get_running_loop()
        if not confirm:
            self.check_budget(budget)
        task = loop.create_task(self.run_async(confirm=True), name=f"hh-sweep-{self.id}")
        # The loop keeps only weak references to tasks: hold it until it ends, and say so if
        # it ends with an error nobody awaited.
        _background.add(task)
        task.add_done_callback(_finished_in_background)
        self._task = task
        return task

    async def run_async(
        self,
        *,
        confirm: bool = False,
        budget: float | dict[str, float] | None = None,
        only_failed: bool = False,
        force: bool = False,
        timeout: float | None = None,
    ) -> SweepResult:
        """The non-blocking form of :meth:`run` (``await sweep.run_async()``)."""
        problem = None if timeout is None else check_number("timeout", timeout)
        if problem is not None:
            raise ValidationError([problem])
        if not confirm:
            self.check_budget(budget)
        self._load_previous()
        self._loop = asyncio.get_running_loop()
        self._stop_requested = False
        self._cancel = asyncio.Event()
        todo = [c for c in self._plan.cells if self._wants_run(c, only_failed, force)]
        for cell in todo:
            self._update(cell.key, status="queued", error=None, progress=None)
        limits = {p: asyncio.Semaphore(self.concurrency) for p in {c.provider for c in todo}}
        tasks = [asyncio.ensure_future(self._run_cell(c, limits[c.provider], force))
                 for c in todo]
        try:
            if tasks:
                await asyncio.wait_for(asyncio.gather(*tasks), timeout)
        finally:
            for task in tasks:
                task.cancel()
        return self.result()

    def _wants_run(self, cell: SweepCell, only_failed: bool, force: bool) -> bool:
        status = self._runs[cell.key].status
        if only_failed:
            return status in FAILED
        if force:
            return True
        return status != "succeeded"

    async def _run_cell(self, cell: SweepCell, limit: asyncio.Semaphore, force: bool) -> None:
        async with limit:
            if self._stop_requested:
                self._update(cell.key, status="stopped")
                return
            client = self.client_for(cell.provider)
            run = self._runs[cell.key]
            try:
                job = await self._attach_or_submit(cell, client, run, force)
            except Exception as exc:  # noqa: BLE001 - one cell's failure must not stop the sweep
                self._fail_cell(cell, exc)
                return
            if job is None:
                return
            await self._follow(cell, job)

    async def _attach_or_submit(self, cell: SweepCell, client: Client, run: CellRun,
                                force: bool) -> Job | None:
        previous = run.job_id
        # A job the journal still follows (lost tracking, stopped, restart) is resumed, never
        # paid for twice; only jobs that ended (failed, expired) are submitted again.
        if previous and not force and job_active(client, previous):
            job = await client.resume(previous)
            self._record_job(cell, job)
            return job
        if self._stop_requested:
            self._update(cell.key, status="stopped")
            return None
        # Rate limits are waited out inside the job's lifecycle: one cell, one job, one record.
        request: Prepared | GenerationRequest = cell.request
        if cell.checked is not None and cell.provider == client.provider:
            request = Prepared(cell.checked, self._estimate_of(cell))
        # A cell is one job across every process running this sweep (seeded cells are so by
        # their request already).
        claim = None if cell.request.seed is not None else f"sweep:{self.id}:{cell.key}"
        job = await client.submit(request, force=force, tags=self._tags(cell), claim=claim)
        self._record_job(cell, job)
        return job

    def _tags(self, cell: SweepCell) -> dict[str, str]:
        return {TAG_SWEEP: self.id, TAG_CELL: cell.key}

    def _record_job(self, cell: SweepCell, job: Job) -> None:
        with self._lock:
            run = self._runs[cell.key]
            if job.id not in run.job_ids:
                run.job_ids.append(job.id)
        self._update(
            cell.key,
            job_id=job.id,
            status="running",
            submitted_at=job.submitted_at or job.created_at,
            from_cache=job.from_cache,
        )

    async def _follow(self, cell: SweepCell, job: Job) -> None:
        def on_event(event: Any) -> None:
            self._update(cell.key, progress=getattr(event, "progress", None))

        unsubscribe = job.subscribe(on_event)
        waiter = asyncio.ensure_future(job.wait())
        cancelled = asyncio.ensure_future(self._cancel_event().wait())
        try:
            await asyncio.wait({waiter, cancelled}, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                waiter.cancel()
                self.client_for(cell.provider).cancel(job.id)
                self._update(cell.key, status="stopped", error="stopped while running")
                return
            # Job.wait() returns in every end state; the job's status and error say the rest.
            waiter.result()
        finally:
            unsubscribe()
            cancelled.cancel()
        self._finish_cell(cell, job)

    def _cancel_event(self) -> asyncio.Event:
        if self._cancel is None:
            self._cancel = asyncio.Event()
        return self._cancel

    def _finish_cell(self, cell: SweepCell, job: Job) -> None:
        status = status_text(job.status)
        error = job.error
        if status == "succeeded" and job.video_path is None:
            status, error = "failed", error or "the job succeeded but its clip was not saved"
        elif status not in CELL_STATUSES or status in ACTIVE:
            # Tracking ended without an end state (cancelled, lost): resumable later.
            status, error = "unknown", error or "tracking ended before the job finished"
        amount, currency = cost_of(job.cost, cell)
        self._update(
            cell.key,
            status=status,
            from_cache=job.from_cache,
            # Only clips that came back count as spent (Apiframe refunds failed jobs).
            cost=0.0 if job.from_cache else (amount if status == "succeeded" else None),
            currency=currency,
            sandbox=is_sandbox_work(job),
            finished_at=job.finished_at or time.time(),
            video_path=job.video_path,
            error=error,
            progress=1.0 if status == "succeeded" else None,
        )

    def _fail_cell(self, cell: SweepCell, exc: BaseException) -> None:
        job = getattr(exc, "job", None)  # SubmitUncertain and other job errors carry it
        if job is not None:
            self._record_job(cell, job)
        status = "unknown" if isinstance(exc, SubmitUncertain) else "failed"
        self._update(cell.key, status=status, error=str(exc), finished_at=time.time())

    def stop(self, *, cancel_running: bool = False) -> None:
        """Submit no more cells. Jobs already submitted keep running and are followed to the
        end, unless ``cancel_running=True`` (then they are no longer followed; their ids stay
        in the journal, so :meth:`run` later picks them up again). Safe from any thread."""

        def request_stop() -> None:
            self._stop_requested = True
            if cancel_running and self._cancel is not None:
                self._cancel.set()
            with self._lock:
                keys = [k for k, r in self._runs.items() if r.status == "queued"]
                for key in keys:
                    self._runs[key].status = "stopped"
            self._changed(None)

        loop = self._loop
        if loop is not None and loop.is_running() and not _on_loop_thread(loop):
            loop.call_soon_threadsafe(request_stop)
        else:
            request_stop()

    # -- results ------------------------------------------------------------------------------
    def result(self) -> SweepResult:
        """The current state as a :class:`SweepResult` (ratings and notes from the journal)."""
        self._load_previous()
        return SweepResult(self)

    def show(self, *, rating_scale: str = "stars") -> Any:
        """Display the live comparison grid of this sweep and return the widget.

        ``rating_scale`` is ``"stars"`` (1–5) or ``"thumbs"`` (👍 = 1, 👎 = −1).
        """
        if rating_scale not in ("stars", "thumbs"):
            raise ValueError("rating_scale must be 'stars' or 'thumbs'")
        return show_in_notebook(self, rating_scale=rating_scale)

    def __repr__(self) -> str:
        axes = ", ".join(f"{a.name}×{len(a)}" for a in self.axes) or "no axes"
        return f"<Sweep {self.id}: {self.size} clips ({axes}); {self.progress}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self) if cycle else self.preview_text())

    def preview_text(self) -> str:
        """The preview shown before running: axes, fixed parameters, clips, cost and time."""
        lines = [f"Sweep {self.id}: {self.size} clips"]
        names = ("rows", "columns", "pages")
        row_ax, col_ax, page_ax = layout_of(self.axes)
        for role, index in zip(names, (row_ax, col_ax, page_ax)):
            if index is not None:
                axis = self.axes[index]
                values = ", ".join(shorten(v, 30) for v in axis.labels)
                lines.append(f"  {role}: {axis.name} = {values}")
        fixed = ", ".join(f"{k}={shorten(str(v), 40)}" for k, v in self.fixed.items())
        lines.append(f"  fixed: {fixed}")
        lines.append(f"  estimate: {self.estimate()}")
        lines.append(f"  progress: {self.progress}")
        return "\n".join(lines)

_background: set[asyncio.Task[Any]] = set()


def _finished_in_background(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: %s", task.get_name(), task.exception())


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
