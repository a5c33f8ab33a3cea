"""Sweeps: one idea across seeds, durations, aspect ratios, prompt variants and providers.

A sweep takes a base request (or a prompt) and up to three *axes*, expands them
into one request per cell (rows × columns × pages), shows the number of clips,
the estimated cost and time before anything is submitted, refuses to start
above a budget unless confirmed, then runs the cells concurrently (a bound per
provider) and returns a :class:`SweepResult` with one row per cell::

    >>> import hh_notebook as hh
    >>> sw = hh.sweep("a red fox in the snow", seed="1-3", aspect_ratio="16:9,9:16")
    >>> sw.size, sw.shape
    (6, (3, 2, 1))
    >>> result = sw.run(budget=5.0)            # doctest: +SKIP
    >>> result.to_pandas()                     # doctest: +SKIP

Axis values and prompt variants
    The accepted values of every keyword (the range syntax ``"1-10 (+3)"``, comma lists,
    ``prompt_sr``, ``{slot}`` templates) are described in :mod:`hh_notebook.sweep_axes`.

Resuming
    A sweep's id is derived from its content, so building the same sweep again
    after a kernel restart finds its jobs in the journal: finished cells are
    reused, running ones are followed again, and only the rest are submitted.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import hashlib
import io
import json
import logging
import math
import os
import pathlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .display import run_sync, status_value
from .errors import (
    BudgetExceeded,
    FieldError,
    HHError,
    RateLimited,
    SubmitUncertain,
    ValidationError,
)
from .pricing import format_money
from .request import GenerationRequest
from .sweep_axes import (
    ALIASES,
    REQUEST_FIELDS,
    AxisSpec,
    SweepCell,
    SweepPlan,
    image_label,
    layout_of,
    parse_axis,
    parse_number_range,
    plan_sweep,
    shorten,
    value_label,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas

    from .client import Client
    from .jobs import Job
    from .widgets.grid import SweepGrid

__all__ = [
    "AxisSpec",
    "Sweep",
    "SweepCell",
    "SweepEstimate",
    "SweepProgress",
    "SweepResult",
    "SweepRow",
    "parse_axis",
    "parse_number_range",
    "settings",
    "sweep",
    "sweep_from_magic_args",
]

log = logging.getLogger(__name__)

#: Submits retried after a 429 before the cell is marked failed.
MAX_RATE_LIMIT_RETRIES = 8


@dataclass
class SweepSettings:
    """Module-wide defaults for sweeps; change them on :data:`settings`.

    ``budget`` caps the estimated cost of a sweep's new clips (USD, or a dict
    ``{"USD": 10, "credits": 2000}`` per currency); ``None`` means no cap.
    It starts from the ``HH_BUDGET`` environment variable (default 10 USD).
    ``concurrency`` is the number of jobs in flight per provider
    (``HH_SWEEP_CONCURRENCY``, default 4).
    """

    budget: float | dict[str, float] | None = None
    concurrency: int = 4

    @classmethod
    def from_env(cls) -> SweepSettings:
        """Read ``HH_BUDGET`` and ``HH_SWEEP_CONCURRENCY`` from the environment."""
        budget_text = os.environ.get("HH_BUDGET", "10").strip()
        budget: float | None
        if budget_text.lower() in ("", "none", "off", "inf"):
            budget = None
        else:
            budget = float(budget_text)
        concurrency = int(os.environ.get("HH_SWEEP_CONCURRENCY", "4"))
        return cls(budget=budget, concurrency=max(1, concurrency))


#: The defaults used when :func:`sweep` gets no ``budget``/``concurrency``.
settings = SweepSettings.from_env()


# --------------------------------------------------------------------------------------------
# Estimate and progress
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepEstimate:
    """What a sweep will cost and take before anything is submitted.

    ``by_currency`` sums the estimated cost of the clips still to be paid
    (``{"USD": 8.4}``; Apiframe prices in ``"credits"``). Cells already paid
    for (same seeded parameters in the journal, or finished in an earlier run
    of this sweep) cost nothing and are counted in ``cached``. ``unknown`` counts
    clips whose price could not be estimated. ``seconds`` is the ideal wall
    time for the concurrency limit (real seconds, time scale applied).
    """

    clips: int
    new: int
    cached: int
    by_currency: dict[str, float]
    unknown: int
    seconds: float
    concurrency: int
    #: Cells whose job was submitted before and is still running: resumed, not paid again.
    resumed: int = 0

    @property
    def amount(self) -> float | None:
        """The total in the sweep's only currency (None when mixed or unknown)."""
        if self.unknown or len(self.by_currency) > 1:
            return None
        return next(iter(self.by_currency.values()), 0.0)

    @property
    def currency(self) -> str:
        """The currency of :attr:`amount` (``"USD"`` when nothing is to be paid)."""
        return next(iter(self.by_currency), "USD")

    def cost_text(self) -> str:
        """The total cost as text: ``$8.40``, ``1,440 credits``, or both."""
        parts = [format_money(v, c) for c, v in self.by_currency.items()] or ["$0.00"]
        text = " + ".join(parts)
        if self.unknown:
            text += f" + {self.unknown} clip(s) of unknown cost"
        return text

    def __str__(self) -> str:
        cached = f", {self.cached} already paid ($0)" if self.cached else ""
        if self.resumed:
            cached += f", {self.resumed} still running (resumed, $0)"
        return (
            f"{self.clips} clips ({self.new} new{cached}): about {self.cost_text()}, "
            f"~{_duration_text(self.seconds)} at {self.concurrency} at a time"
        )


def _duration_text(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class SweepProgress:
    """Counts for the whole sweep: ``done`` (succeeded, cached included), ``failed``
    (failed, expired, unknown), ``running`` (submitted, not finished), ``queued``
    (waiting for a slot), ``stopped``/``pending`` (not submitted) and ``spent``
    (estimated money of the clips paid in this sweep, by currency)."""

    total: int
    done: int
    failed: int
    running: int
    queued: int
    pending: int
    stopped: int
    cached: int
    spent: dict[str, float]
    #: Clips paid in this sweep whose provider publishes no price (not in ``spent``).
    unpriced: int = 0

    @property
    def finished(self) -> bool:
        """True when no cell is running or queued."""
        return self.running == 0 and self.queued == 0

    def __str__(self) -> str:
        spent = " + ".join(format_money(v, c) for c, v in self.spent.items()) or "$0.00"
        parts = [f"{self.done}/{self.total} done"]
        if self.cached:
            parts[-1] += f" ({self.cached} from journal)"
        for name in ("failed", "running", "queued", "stopped"):
            count = getattr(self, name)
            if count:
                parts.append(f"{count} {name}")
        if self.unpriced:
            spent += f" + {self.unpriced} clip(s) without a published price"
        return " · ".join(parts) + f" · spent {spent}"


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

#: Cell statuses, in the order the grid and the tables use.
CELL_STATUSES = (
    "pending", "queued", "running", "succeeded", "failed", "expired", "unknown", "stopped",
)  # fmt: skip
_FAILED = {"failed", "expired", "unknown"}
_ACTIVE = {"queued", "running"}


@dataclass
class _CellRun:
    status: str = "pending"
    job_id: str | None = None
    job_ids: list[str] = field(default_factory=list)
    from_cache: bool = False
    cost: float | None = None
    currency: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None
    video_path: pathlib.Path | None = None
    error: str | None = None
    progress: float | None = None


SweepListener = Callable[["SweepProgress", "str | None"], None]


class Sweep:
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
        self._plan = plan
        self._client = client
        self._clients: dict[str, Client] = {}
        self.budget = budget
        self.concurrency = int(concurrency or settings.concurrency)
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.id = _sweep_id(plan)
        self._runs: dict[str, _CellRun] = {c.key: _CellRun() for c in plan.cells}
        self._cells_by_key = {c.key: c for c in plan.cells}
        self._listeners: list[SweepListener] = []
        self._lock = threading.Lock()
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[SweepResult] | None = None
        self._cancel: asyncio.Event | None = None
        self._loaded = False

    # -- shape --------------------------------------------------------------------------------
    @property
    def cells(self) -> tuple[SweepCell, ...]:
        """Every cell, pages outermost, then rows, then columns."""
        return self._plan.cells

    @property
    def requests(self) -> list[GenerationRequest]:
        """The request of every cell, in :attr:`cells` order."""
        return [c.request for c in self._plan.cells]

    @property
    def size(self) -> int:
        """The number of clips."""
        return len(self._plan.cells)

    @property
    def axes(self) -> tuple[AxisSpec, ...]:
        """The varying axes: rows, columns, pages (one axis: columns only)."""
        return self._plan.axes

    @property
    def layout(self) -> tuple[int | None, int | None, int | None]:
        """Indices in :attr:`axes` of the row, column and page axes (None when absent)."""
        return layout_of(self._plan.axes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(rows, columns, pages)."""
        row_ax, col_ax, page_ax = layout_of(self._plan.axes)
        size = [len(self._plan.axes[i]) if i is not None else 1 for i in (row_ax, col_ax, page_ax)]
        return size[0], size[1], size[2]

    @property
    def fixed(self) -> dict[str, Any]:
        """The parameters shared by every cell (shown once above the grid)."""
        return dict(self._plan.fixed)

    @property
    def client(self) -> Client:
        """The client of the sweep's main provider (the default client if none was given)."""
        if self._client is None:
            from .client import default_client

            self._client = default_client()
        return self._client

    def client_for(self, provider: str) -> Client:
        """The client that runs ``provider``'s cells (same data folder and base URL kind)."""
        base = self.client
        if provider == base.provider:
            return base
        if provider not in self._clients:
            from .client import Client

            self._clients[provider] = Client(
                provider=provider,
                base_url=base.base_url if base.is_sandbox else None,
                data_dir=base.data_dir,
                time_scale=base.time_scale,
            )
        return self._clients[provider]

    # -- estimate -----------------------------------------------------------------------------
    @property
    def estimated_cost(self) -> SweepEstimate:
        """The preview: clips, new vs already paid, total estimated cost and time."""
        return self.estimate()

    def estimate(self) -> SweepEstimate:
        """Compute the preview now (reads the journal for clips already paid for)."""
        from .pricing import estimate_cost

        self._load_previous()
        by_currency: dict[str, float] = {}
        unknown = cached = resumed = 0
        new_per_provider: dict[str, int] = {}
        for cell in self._plan.cells:
            if self._is_paid(cell):
                cached += 1
                continue
            job_id = self._runs[cell.key].job_id
            if job_id and _job_active(self.client_for(cell.provider), job_id):
                resumed += 1  # submitted before (a restart): followed again, not paid again
                continue
            new_per_provider[cell.provider] = new_per_provider.get(cell.provider, 0) + 1
            est = estimate_cost(cell.request, cell.provider)
            if est.amount is None:
                unknown += 1
            else:
                by_currency[est.currency] = by_currency.get(est.currency, 0.0) + est.amount
        seconds = max((self._ideal_seconds(p, n) for p, n in new_per_provider.items()), default=0.0)
        return SweepEstimate(
            clips=self.size,
            new=self.size - cached - resumed,
            cached=cached,
            resumed=resumed,
            by_currency={c: round(v, 6) for c, v in by_currency.items()},
            unknown=unknown,
            seconds=seconds,
            concurrency=self.concurrency,
        )

    def _ideal_seconds(self, provider: str, count: int) -> float:
        from .providers import get_provider

        low, high = get_provider(provider).typical_duration
        client = self.client_for(provider)
        scale = client.time_scale if client.is_sandbox else 1.0
        return math.ceil(count / self.concurrency) * (low + high) / 2 * scale

    def _is_paid(self, cell: SweepCell) -> bool:
        run = self._runs[cell.key]
        if run.status == "succeeded":
            return True
        if cell.request.seed is None:
            return False
        return _find_paid(self.client_for(cell.provider), cell) is not None

    def check_budget(self, budget: float | dict[str, float] | None = None) -> SweepEstimate:
        """Raise :class:`~hh_notebook.errors.BudgetExceeded` if the new clips cost more than
        the budget (``budget``, else the sweep's, else :data:`settings`); return the estimate."""
        est = self.estimate()
        limit = _budget_limits(budget if budget is not None else self.budget)
        if not limit or est.new == 0:
            return est
        over = [
            f"{format_money(est.by_currency.get(cur, 0.0), cur)} > budget {format_money(cap, cur)}"
            for cur, cap in limit.items()
            if est.by_currency.get(cur, 0.0) > cap + 1e-9
        ]
        uncapped = [c for c in est.by_currency if c not in limit]
        if uncapped:
            over.append(f"no budget set for {', '.join(uncapped)}")
        if est.unknown:
            over.append(f"{est.unknown} clip(s) of unknown cost")
        if over:
            raise BudgetExceeded(
                f"sweep {self.id}: {est.new} new clip(s) would cost about {est.cost_text()} "
                f"({'; '.join(over)}). Nothing was submitted. Pass confirm=True to run it "
                "anyway, or raise the cap (budget=..., hh_notebook.sweep.settings.budget, "
                "HH_BUDGET)."
            )
        return est

    # -- progress -----------------------------------------------------------------------------
    @property
    def progress(self) -> SweepProgress:
        """Counts for the whole sweep, now."""
        self._load_previous()
        with self._lock:
            runs = list(self._runs.values())
        counts = {s: 0 for s in CELL_STATUSES}
        spent: dict[str, float] = {}
        cached = unpriced = 0
        for run in runs:
            counts[run.status] += 1
            if run.status == "succeeded" and run.from_cache:
                cached += 1
            elif run.status == "succeeded" and run.cost is not None:
                cur = run.currency or "USD"
                spent[cur] = round(spent.get(cur, 0.0) + run.cost, 6)
            elif run.status == "succeeded":
                unpriced += 1
        return SweepProgress(
            total=len(runs),
            done=counts["succeeded"],
            failed=counts["failed"] + counts["expired"] + counts["unknown"],
            running=counts["running"],
            queued=counts["queued"],
            pending=counts["pending"],
            stopped=counts["stopped"],
            cached=cached,
            spent=spent,
            unpriced=unpriced,
        )

    def cell_state(self, key: str) -> dict[str, Any]:
        """A snapshot of one cell's run: status, job id, cost, timings, clip path, error."""
        self._load_previous()
        with self._lock:
            run = dataclasses.replace(self._runs[key])
        return dataclasses.asdict(run)

    def subscribe(self, callback: SweepListener) -> Callable[[], None]:
        """Call ``callback(progress, cell_key)`` on every change; returns an unsubscribe."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def _changed(self, key: str | None) -> None:
        listeners = list(self._listeners)
        if not listeners:
            return  # nobody watches (a plain run()): no need to count every cell per event
        progress = self.progress
        for callback in listeners:
            callback(progress, key)

    def _update(self, key: str, **changes: Any) -> None:
        with self._lock:
            run = self._runs[key]
            for name, value in changes.items():
                setattr(run, name, value)
        self._changed(key)

    # -- running ------------------------------------------------------------------------------
    def run(
        self,
        *,
        confirm: bool = False,
        budget: float | dict[str, float] | None = None,
        only_failed: bool = False,
        force: bool = False,
        timeout: float | None = None,
    ) -> SweepResult:
        """Run every cell not finished yet and block until all are done; return the result.

        Refuses with :class:`~hh_notebook.errors.BudgetExceeded` before submitting
        anything when the new clips cost more than the budget, unless ``confirm=True``.
        ``only_failed=True`` re-submits only cells whose job failed, expired or was
        lost. ``force=True`` submits every cell again even if paid before.
        """
        # display.run_sync keeps one loop per thread: jobs and HTTP pools belong to the loop
        # they started on, and a later run (rerun_failed) must find them alive.
        return run_sync(
            self.run_async(
                confirm=confirm, budget=budget, only_failed=only_failed, force=force,
                timeout=timeout,
            )
        )  # fmt: skip

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
        not_before: dict[str, float] = {}
        tasks = [
            asyncio.ensure_future(self._run_cell(c, limits[c.provider], not_before, force))
            for c in todo
        ]
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
            return status in _FAILED
        if force:
            return True
        return status != "succeeded"

    async def _run_cell(
        self,
        cell: SweepCell,
        limit: asyncio.Semaphore,
        not_before: dict[str, float],
        force: bool,
    ) -> None:
        async with limit:
            if self._stop_requested:
                self._update(cell.key, status="stopped")
                return
            client = self.client_for(cell.provider)
            run = self._runs[cell.key]
            try:
                job = await self._attach_or_submit(cell, client, run, not_before, force)
            except Exception as exc:  # noqa: BLE001 - one cell's failure must not stop the sweep
                self._fail_cell(cell, exc)
                return
            if job is None:
                return
            await self._follow(cell, job)

    async def _attach_or_submit(
        self,
        cell: SweepCell,
        client: Client,
        run: _CellRun,
        not_before: dict[str, float],
        force: bool,
    ) -> Job | None:
        previous = run.job_id
        # A job the journal still follows (lost tracking, stopped, restart) is resumed, never
        # paid for twice; only jobs that ended (failed, expired) are submitted again.
        if previous and not force and _job_active(client, previous):
            job = await client.resume(previous)
            self._record_job(cell, job)
            return job
        for _attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            wait = not_before.get(cell.provider, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if self._stop_requested:
                self._update(cell.key, status="stopped")
                return None
            try:
                job = await client.submit(cell.request, force=force, tags=self._tags(cell))
            except RateLimited as exc:
                not_before[cell.provider] = time.monotonic() + max(exc.retry_after or 1.0, 0.05)
                continue
            self._record_job(cell, job)
            return job
        raise RateLimited(cell.provider, 429, None, "still rate limited after retries")

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
        status = _status_text(job.status)
        error = job.error
        if status == "succeeded" and job.video_path is None:
            status, error = "failed", error or "the job succeeded but its clip was not saved"
        elif status not in CELL_STATUSES or status in _ACTIVE:
            # Tracking ended without an end state (cancelled, lost): resumable later.
            status, error = "unknown", error or "tracking ended before the job finished"
        amount, currency = _cost_of(job.cost, cell)
        self._update(
            cell.key,
            status=status,
            from_cache=job.from_cache,
            # Only clips that came back count as spent (Apiframe refunds failed jobs).
            cost=0.0 if job.from_cache else (amount if status == "succeeded" else None),
            currency=currency,
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

    def show(self, *, rating_scale: str = "stars") -> SweepGrid:
        """Display the live comparison grid of this sweep and return the widget.

        ``rating_scale`` is ``"stars"`` (1–5) or ``"thumbs"`` (👍 = 1, 👎 = −1).
        """
        from .widgets.grid import SweepGrid

        if rating_scale not in ("stars", "thumbs"):
            raise ValueError("rating_scale must be 'stars' or 'thumbs'")
        grid = SweepGrid.from_sweep(self, rating_scale=rating_scale)
        try:
            from IPython.display import display

            display(grid)
        except ImportError:  # pragma: no cover - IPython is a dependency
            pass
        return grid

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

    # -- journal ------------------------------------------------------------------------------
    def _load_previous(self) -> None:
        """Attach the jobs recorded for this sweep (manifest + journal) to its cells, once."""
        if self._loaded:
            return
        self._loaded = True
        recorded: dict[str, dict[str, list[str]]] = {}
        for provider in {c.provider for c in self._plan.cells}:
            client = self.client_for(provider)
            for job_id, key in _sweep_jobs(client, self.id):
                recorded.setdefault(provider, {}).setdefault(key, []).append(job_id)
        for cell in self._plan.cells:
            job_ids = recorded.get(cell.provider, {}).get(cell.key, [])
            if not job_ids:
                self._attach_paid(cell)
                continue
            record = _journal_get(self.client_for(cell.provider), job_ids[-1])
            run = self._runs[cell.key]
            run.job_ids = job_ids
            run.job_id = job_ids[-1]
            if record is not None:
                _apply_record(run, record, cell)

    def _attach_paid(self, cell: SweepCell) -> None:
        """A seeded cell paid for before (by any sweep or call) shows its clip at cost 0."""
        if cell.request.seed is None:
            return
        record = _find_paid(self.client_for(cell.provider), cell)
        if record is None:
            return
        run = self._runs[cell.key]
        _apply_record(run, record, cell)
        run.job_id = record.id
        run.from_cache = True
        run.cost = 0.0

    def journal_record(self, key: str) -> Any | None:
        """The journal record of the cell's latest job (None if it never ran)."""
        run = self._runs[key]
        if not run.job_id:
            return None
        cell = self.cell(key)
        return _journal_get(self.client_for(cell.provider), run.job_id)

    def cell(self, key: str) -> SweepCell:
        """The cell with this key (``"row-col"`` indices joined by dashes)."""
        return self._cells_by_key[key]

    def set_rating(self, key: str, rating: int | None, note: str | None = None) -> None:
        """Save a rating (1–5, or None to clear) and a note for the cell's clip in the journal."""
        run = self._runs[key]
        if not run.job_id:
            raise HHError(f"cell {key} has no clip yet: nothing to rate")
        cell = self.cell(key)
        self.client_for(cell.provider).journal.set_rating(run.job_id, rating, note)
        self._changed(key)


# --------------------------------------------------------------------------------------------
# Glue to the client, the jobs and the journal (public API only)
# --------------------------------------------------------------------------------------------

#: Journal tags of a sweep's jobs: ``{"sweep": sweep_id, "cell": cell_key}``.
TAG_SWEEP = "sweep"
TAG_CELL = "cell"


def _sweep_id(plan: SweepPlan) -> str:
    """A content hash: the same sweep built again (after a restart) gets the same id."""
    parts = []
    for cell in plan.cells:
        try:
            print_ = cell.request.fingerprint(cell.provider)
        except ValidationError:
            print_ = json.dumps(cell.request.to_dict(), sort_keys=True, default=str)
        parts.append([cell.key, cell.provider, print_])
    blob = json.dumps(parts, separators=(",", ":")).encode()
    return "sw" + hashlib.sha256(blob).hexdigest()[:12]


def _find_paid(client: Client, cell: SweepCell) -> Any | None:
    try:
        return client.journal.find_paid(cell.request.fingerprint(cell.provider))
    except ValidationError:
        return None


def _journal_get(client: Client, job_id: str) -> Any | None:
    try:
        return client.journal.get(job_id)
    except KeyError:
        return None


def _sweep_jobs(client: Client, sweep_id: str) -> list[tuple[str, str]]:
    """(job id, cell key) of every job this sweep submitted, oldest first."""
    records = client.journal.find_by_tag(TAG_SWEEP, sweep_id)
    return [(r.id, str(r.tags.get(TAG_CELL))) for r in reversed(records)]


def _status_text(status: Any) -> str:
    return (status_value(status) or "unknown").lower()


def _apply_record(run: _CellRun, record: Any, cell: SweepCell) -> None:
    status = _status_text(record.status)
    if status == "submitting" or (status in ("queued", "running") and record.unfinished):
        status = "running"
    elif status == "succeeded" and record.unfinished:
        status = "running"  # succeeded at the provider, clip not downloaded yet
    run.status = status if status in CELL_STATUSES else "unknown"
    run.cost = record.cost
    run.currency = record.currency
    run.submitted_at = record.submitted_at or record.created_at
    run.finished_at = record.finished_at
    run.video_path = _path_or_none(record.video_path)
    run.error = record.error
    run.progress = record.progress


def _job_active(client: Client, job_id: str) -> bool:
    record = _journal_get(client, job_id)
    return record is not None and bool(record.unfinished)


def _path_or_none(value: Any) -> pathlib.Path | None:
    return pathlib.Path(value) if value else None


def _cost_of(cost: Any, cell: SweepCell) -> tuple[float | None, str | None]:
    if cost is None:
        from .pricing import estimate_cost

        est = estimate_cost(cell.request, cell.provider)
        return est.amount, est.currency
    if isinstance(cost, (int, float)):
        from .pricing import estimate_cost

        return float(cost), estimate_cost(cell.request, cell.provider).currency
    return getattr(cost, "amount", None), getattr(cost, "currency", None)


def _budget_limits(budget: float | dict[str, float] | None) -> dict[str, float]:
    if budget is None:
        budget = settings.budget
    if budget is None or budget is False:
        return {}
    if isinstance(budget, Mapping):
        return {str(k): float(v) for k, v in budget.items()}
    value = float(budget)
    return {} if math.isinf(value) else {"USD": value}


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


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------

_PARAM_COLUMNS = (
    "prompt", "negative_prompt", "image", "reference_images", "resolution", "duration",
    "aspect_ratio", "seed", "prompt_extend", "watermark", "reference_type", "model", "mode",
)  # fmt: skip


@dataclass(frozen=True)
class SweepRow:
    """One cell of a finished (or partly finished) sweep, with everything known about it.

    ``axes`` maps each varying axis to this cell's label; ``params`` holds every
    request parameter (images as labels); ``request`` is the exact request
    (``request.to_dict()`` regenerates the clip). Times are Unix seconds;
    ``elapsed`` is the real seconds from submit to finish. ``cost`` is 0 for
    clips served from the journal (``from_cache``).
    """

    key: str
    page: int
    row: int
    col: int
    axes: dict[str, str]
    params: dict[str, Any]
    provider: str
    status: str
    from_cache: bool
    cost: float | None
    currency: str | None
    submitted_at: float | None
    finished_at: float | None
    video_path: pathlib.Path | None
    rating: int | None
    note: str | None
    job_id: str | None
    error: str | None
    request: GenerationRequest

    @property
    def elapsed(self) -> float | None:
        """Real seconds from submit to finish, when both are known."""
        if self.submitted_at is None or self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.submitted_at)

    def to_record(self) -> dict[str, Any]:
        """A flat, JSON-safe dict (one table row)."""
        record: dict[str, Any] = {
            "cell": self.key, "page": self.page, "row": self.row, "col": self.col,
            "provider": self.provider,
        }  # fmt: skip
        record.update(self.params)
        for name, label in self.axes.items():
            record.setdefault(name, label)
        record.update(
            status=self.status,
            from_cache=self.from_cache,
            cost=self.cost,
            currency=self.currency,
            submitted_at=self.submitted_at,
            finished_at=self.finished_at,
            elapsed_s=None if self.elapsed is None else round(self.elapsed, 3),
            video_path=str(self.video_path) if self.video_path else None,
            rating=self.rating,
            note=self.note,
            job_id=self.job_id,
            error=self.error,
        )
        return record


def _params(cell: SweepCell) -> dict[str, Any]:
    req = cell.request
    params: dict[str, Any] = {}
    for name in _PARAM_COLUMNS:
        if name == "image":
            params[name] = None if req.image is None else image_label(req.image, 0)
        elif name == "reference_images":
            params[name] = (
                value_label("reference_images", req.reference_images, 0)
                if req.reference_images
                else None
            )
        elif name == "mode":
            params[name] = req.mode.value
        elif name == "model":
            params[name] = req.model or _default_model(cell.provider)
        else:
            params[name] = getattr(req, name)
    return params


def _default_model(provider: str) -> str | None:
    from .request import default_model

    try:
        return default_model(provider)
    except ValueError:
        return None


class SweepResult:
    """The rows of a sweep (one per cell) with exports, the grid and a report.

    >>> result = hh.sweep("a fox", seed="1-4").run()      # doctest: +SKIP
    >>> result.to_pandas()[["seed", "status", "cost"]]      # doctest: +SKIP
    >>> result.export_report("fox-report")                  # doctest: +SKIP
    """

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        self.sweep_id = sweep.id
        self.axes = sweep.axes
        self.fixed = sweep.fixed
        self.shape = sweep.shape
        self.layout = sweep.layout
        self.rows: list[SweepRow] = [self._row(cell) for cell in sweep.cells]

    def _row(self, cell: SweepCell) -> SweepRow:
        state = self.sweep.cell_state(cell.key)
        record = self.sweep.journal_record(cell.key)
        return SweepRow(
            key=cell.key,
            page=cell.page,
            row=cell.row,
            col=cell.col,
            axes=dict(cell.labels),
            params=_params(cell),
            provider=cell.provider,
            status=state["status"],
            from_cache=state["from_cache"],
            cost=0.0 if state["from_cache"] else state["cost"],
            currency=state["currency"],
            submitted_at=state["submitted_at"],
            finished_at=state["finished_at"],
            video_path=state["video_path"],
            rating=getattr(record, "rating", None),
            note=getattr(record, "note", None),
            job_id=state["job_id"],
            error=state["error"],
            request=cell.request,
        )

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[SweepRow]:
        return iter(self.rows)

    @property
    def failed(self) -> list[SweepRow]:
        """Rows whose job failed, expired or was lost."""
        return [r for r in self.rows if r.status in _FAILED]

    @property
    def succeeded(self) -> list[SweepRow]:
        """Rows with a clip."""
        return [r for r in self.rows if r.status == "succeeded"]

    def refresh(self) -> SweepResult:
        """A new result with the latest states, ratings and notes."""
        return SweepResult(self.sweep)

    def rerun_failed(self, *, confirm: bool = False) -> SweepResult:
        """Submit again only the failed cells of this sweep; block; return the new result."""
        return self.sweep.rerun_failed(confirm=confirm)

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per cell: every parameter, status, cost, timings, clip, rating, note."""
        return [row.to_record() for row in self.rows]

    def to_pandas(self) -> pandas.DataFrame:
        """The rows as a pandas DataFrame (``submitted_at``/``finished_at`` as UTC datetimes)."""
        import pandas as pd

        frame = pd.DataFrame.from_records(self.to_records())
        for column in ("submitted_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe: sweep id, axes, fixed parameters, toolkit version, rows and
        the exact request of every cell."""
        from . import __version__

        return {
            "sweep_id": self.sweep_id,
            "toolkit_version": __version__,
            "shape": {"rows": self.shape[0], "columns": self.shape[1], "pages": self.shape[2]},
            "axes": [{"name": a.name, "kind": a.kind, "labels": list(a.labels)} for a in self.axes],
            "fixed": {k: _jsonable(v) for k, v in self.fixed.items()},
            "rows": [{**row.to_record(), "request": row.request.to_dict()} for row in self.rows],
        }

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int = 2) -> str:
        """The result as JSON (see :meth:`to_dict`); also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        if path is not None:
            pathlib.Path(path).write_text(text, encoding="utf-8")
        return text

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The table as CSV (one row per cell); also written to ``path`` if given."""
        records = self.to_records()
        buf = io.StringIO()
        names: list[str] = []
        for record in records:
            names += [k for k in record if k not in names]
        writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: "" if v is None else v for k, v in record.items()})
        text = buf.getvalue()
        if path is not None:
            pathlib.Path(path).write_text(text, encoding="utf-8")
        return text

    def export_report(
        self,
        path: str | os.PathLike[str],
        *,
        single_file: bool = False,
        title: str | None = None,
        frames: int = 8,
    ) -> pathlib.Path:
        """Write a self-contained report (see :func:`hh_notebook.report.export_report`)."""
        from .report import export_report

        return export_report(self, path, single_file=single_file, title=title, frames=frames)

    def show(self, *, rating_scale: str = "stars") -> SweepGrid:
        """Display the comparison grid of this result and return the widget."""
        return self.sweep.show(rating_scale=rating_scale)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in counts.items())
        return f"<SweepResult {self.sweep_id}: {len(self.rows)} cells ({states})>"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def sweep(
    prompt_or_request: str | GenerationRequest,
    *,
    client: Client | None = None,
    budget: float | dict[str, float] | None = None,
    concurrency: int | None = None,
    **axes: Any,
) -> Sweep:
    """Plan a sweep over up to three axes; nothing is submitted until ``.run()``.

    ``prompt_or_request`` is the base (a prompt, or a :class:`GenerationRequest`
    whose fields are the defaults); each keyword is a request field
    (``seed``, ``duration``, ``resolution``, ``aspect_ratio``/``aspect``,
    ``prompt_extend``, ``negative_prompt``, ``model``/``version``, ``image``,
    ``reference_images``/``references``…), ``provider``, ``prompt_sr``, or a
    ``{slot}`` of the prompt. ``budget`` caps the estimated cost of the new
    clips (default :data:`settings`, from ``HH_BUDGET``); ``concurrency`` is
    the number of jobs in flight per provider.

    >>> sw = sweep("a {animal} in the rain", animal=["fox", "heron"], seed="1-3",
    ...            duration=4)
    >>> sw.shape, [r.prompt for r in sw.requests][:2]
    ((2, 3, 1), ['a fox in the rain', 'a fox in the rain'])
    """
    return _build(prompt_or_request, axes, client=client, budget=budget,
                  concurrency=concurrency, from_text=False)  # fmt: skip


def _build(
    prompt_or_request: str | GenerationRequest,
    axes: Mapping[str, Any],
    *,
    client: Client | None,
    budget: float | dict[str, float] | None,
    concurrency: int | None,
    from_text: bool,
) -> Sweep:
    if isinstance(prompt_or_request, GenerationRequest):
        base = prompt_or_request
    elif isinstance(prompt_or_request, str):
        base = GenerationRequest(prompt=prompt_or_request)
    else:
        raise TypeError(
            "sweep() takes a prompt (str) or a GenerationRequest, "
            f"not {type(prompt_or_request).__name__}"
        )
    provider = client.provider if client is not None else _default_provider()
    plan = plan_sweep(base, provider, axes, from_text=from_text)
    _validate_cells(plan)
    return Sweep(plan, client=client, budget=budget, concurrency=concurrency)


def _default_provider() -> str:
    """The provider the default client will use, without starting anything."""
    from .config import _choose_provider

    # None: nothing names a provider, and the local sandbox answers as Segmind by default.
    return _choose_provider(None, os.environ) or "segmind"


def _validate_cells(plan: SweepPlan) -> None:
    """Every cell's request must be valid before anything is sent: report all problems."""
    problems: list[FieldError] = []
    seen: set[str] = set()
    for cell in plan.cells:
        for problem in cell.request.problems(cell.provider):
            text = f"{problem.field}:{problem.message}"
            if text in seen:
                continue
            seen.add(text)
            where = ", ".join(f"{k}={v}" for k, v in cell.labels.items())
            message = problem.message + (f" (cell {where})" if where else "")
            problems.append(dataclasses.replace(problem, message=message))
    if problems:
        raise ValidationError(problems)


def sweep_from_magic_args(
    prompt: str | GenerationRequest,
    sweep_args: Iterable[str],
    *,
    client: Client | None = None,
    budget: float | dict[str, float] | None = None,
    concurrency: int | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> Sweep:
    """Build a sweep from the magic's ``--sweep NAME=VALUES`` strings.

    Every value is read as text: comma-separated lists (quotes keep commas),
    ranges for numbers, ``on/off`` for switches, ``a.png+b.png`` for one set of
    references. ``fixed`` holds the cell's other options (already parsed),
    applied to every clip.

    >>> sw = sweep_from_magic_args("a fox", ["seed=1-4", "aspect=16:9,9:16"])
    >>> sw.shape
    (4, 2, 1)
    """
    axes: dict[str, Any] = {}
    for arg in sweep_args:
        name, sep, values = str(arg).partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise ValueError(
                f"--sweep expects NAME=VALUES (e.g. seed=1-4 or aspect=16:9,9:16), got {arg!r}"
            )
        if name in axes or ALIASES.get(name, name) in {ALIASES.get(n, n) for n in axes}:
            raise ValueError(f"--sweep {name} given twice")
        axes[name] = values
    base = prompt if isinstance(prompt, GenerationRequest) else GenerationRequest(prompt=prompt)
    if fixed:
        base_fields = {k: v for k, v in fixed.items() if k in REQUEST_FIELDS}
        base = base.replace(**base_fields)
        if "provider" in fixed and "provider" not in axes and fixed["provider"]:
            axes["provider"] = fixed["provider"]
    return _build(base, axes, client=client, budget=budget, concurrency=concurrency,
                  from_text=True)  # fmt: skip
