"""A sweep's cells while it runs: their states, the counts shown as progress, and the glue
that finds a cell's jobs in the journal again after a restart (public journal API only)."""

from __future__ import annotations

import dataclasses
import pathlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..client import Client, default_client
from ..errors import HHError, ValidationError
from ..present import SANDBOX_LABEL, format_money, is_sandbox_work, status_value
from ..pricing import estimate_cost
from ..request import GenerationRequest
from .axes import AxisSpec
from .plan import SweepCell, SweepPlan, layout_of, sweep_id

__all__ = ["ACTIVE", "CELL_STATUSES", "FAILED", "TAG_CELL", "TAG_SWEEP", "CellRun",
           "SweepListener", "SweepProgress", "SweepState", "progress_of"]


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
    #: Clips made on a sandbox: never paid, never in ``spent``.
    sandbox: int = 0
    #: The sweep runs on a sandbox: nothing it does is paid.
    on_sandbox: bool = False

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
        if (self.sandbox or self.on_sandbox) and not self.spent and not self.unpriced:
            return " · ".join(parts) + f" · {SANDBOX_LABEL}"
        if self.sandbox:
            spent += f" · {self.sandbox} sandbox clip(s) — not paid"
        return " · ".join(parts) + f" · spent {spent}"


#: Cell statuses, in the order the grid and the tables use.
CELL_STATUSES = (
    "pending", "queued", "running", "succeeded", "failed", "expired", "unknown", "stopped",
)  # fmt: skip
FAILED = {"failed", "expired", "unknown"}
ACTIVE = {"queued", "running"}


@dataclass
class CellRun:
    status: str = "pending"
    job_id: str | None = None
    job_ids: list[str] = field(default_factory=list)
    from_cache: bool = False
    cost: float | None = None
    currency: str | None = None
    #: Made on a sandbox: ``cost`` is the provider's price, and nothing was paid.
    sandbox: bool = False
    submitted_at: float | None = None
    finished_at: float | None = None
    video_path: pathlib.Path | None = None
    error: str | None = None
    progress: float | None = None


def progress_of(runs: list[CellRun], on_sandbox: bool = False) -> SweepProgress:
    """Counts for a sweep whose cells are in the states ``runs`` (``on_sandbox``: the sweep
    runs on a sandbox)."""
    counts = {s: 0 for s in CELL_STATUSES}
    spent: dict[str, float] = {}
    cached = unpriced = sandbox = 0
    for run in runs:
        counts[run.status] += 1
        if run.status == "succeeded" and run.from_cache:
            cached += 1
        elif run.status == "succeeded" and run.sandbox:
            sandbox += 1
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
        sandbox=sandbox,
        on_sandbox=on_sandbox,
    )


#: Journal tags of a sweep's jobs: ``{"sweep": sweep_id, "cell": cell_key}``.
TAG_SWEEP = "sweep"
TAG_CELL = "cell"


def find_paid(client: Client, cell: SweepCell) -> Any | None:
    """The journal record of a clip paid before with exactly this cell's seeded request."""
    try:
        return client.journal.find_paid(cell.fingerprint, sandbox=client.is_sandbox)
    except ValidationError:
        return None


def journal_get(client: Client, job_id: str) -> Any | None:
    """A job's journal record, or None."""
    try:
        return client.journal.get(job_id)
    except KeyError:
        return None


def sweep_jobs(client: Client, sweep_id: str) -> list[tuple[str, str]]:
    """(job id, cell key) of every job this sweep submitted, oldest first."""
    records = client.journal.find_by_tag(TAG_SWEEP, sweep_id)
    return [(r.id, str(r.tags.get(TAG_CELL))) for r in reversed(records)]


def status_text(status: Any) -> str:
    """A job or record status as lower-case text."""
    return (status_value(status) or "unknown").lower()


def apply_record(run: CellRun, record: Any, cell: SweepCell) -> None:
    """Show a journal record's state in a cell (a job the journal still follows: running)."""
    status = status_text(record.status)
    if status == "submitting" or (status in ("queued", "running") and record.unfinished):
        status = "running"
    elif status == "succeeded" and record.unfinished:
        status = "running"  # succeeded at the provider, clip not downloaded yet
    run.status = status if status in CELL_STATUSES else "unknown"
    run.cost = record.cost
    run.currency = record.currency
    run.sandbox = is_sandbox_work(record)
    run.submitted_at = record.submitted_at or record.created_at
    run.finished_at = record.finished_at
    run.video_path = path_or_none(record.video_path)
    run.error = record.error
    run.progress = record.progress


def job_active(client: Client, job_id: str) -> bool:
    """True when the journal still has something to do for this job (never pay it again)."""
    record = journal_get(client, job_id)
    return record is not None and bool(record.unfinished)


def path_or_none(value: Any) -> pathlib.Path | None:
    """A path from a journal value (None when empty)."""
    return pathlib.Path(value) if value else None


def cost_of(cost: Any, cell: SweepCell) -> tuple[float | None, str | None]:
    """(amount, currency) of a job's cost (its estimate when the job carries none)."""
    if cost is None:
        est = estimate_cost(cell.request, cell.provider)
        return est.amount, est.currency
    if isinstance(cost, (int, float)):
        return float(cost), estimate_cost(cell.request, cell.provider).currency
    return getattr(cost, "amount", None), getattr(cost, "currency", None)


SweepListener = Callable[[SweepProgress, "str | None"], None]


class SweepState:
    """What a sweep knows about its cells: the plan, the clients that run them, each cell's
    state (loaded from the journal once, then kept current), and who listens to changes.
    :class:`~hh_notebook.sweep.run.Sweep` adds running on top."""

    def __init__(self, plan: SweepPlan, client: Client | None) -> None:
        self._plan = plan
        self._client = client
        self._clients: dict[str, Client] = {}
        self.id = sweep_id(plan)
        self._runs: dict[str, CellRun] = {c.key: CellRun() for c in plan.cells}
        self._cells_by_key = {c.key: c for c in plan.cells}
        self._listeners: list[SweepListener] = []
        self._lock = threading.Lock()
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
            self._client = default_client()
        return self._client

    def client_for(self, provider: str) -> Client:
        """The client that runs ``provider``'s cells (same data folder and base URL kind)."""
        base = self.client
        if provider == base.provider:
            return base
        if provider not in self._clients:
            self._clients[provider] = Client(
                provider=provider,
                base_url=base.base_url if base.is_sandbox else None,
                data_dir=base.data_dir,
                time_scale=base.time_scale,
                sandbox=True if base.is_sandbox else None,  # no real key goes to a sandbox
            )
        return self._clients[provider]

    @property
    def progress(self) -> SweepProgress:
        """Counts for the whole sweep, now."""
        self._load_previous()
        with self._lock:
            runs = list(self._runs.values())
        return progress_of(runs, self.client.is_sandbox)

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

    # -- journal ------------------------------------------------------------------------------
    def _load_previous(self) -> None:
        """Attach the jobs recorded for this sweep (manifest + journal) to its cells, once."""
        if self._loaded:
            return
        self._loaded = True
        recorded: dict[str, dict[str, list[str]]] = {}
        for provider in {c.provider for c in self._plan.cells}:
            client = self.client_for(provider)
            for job_id, key in sweep_jobs(client, self.id):
                recorded.setdefault(provider, {}).setdefault(key, []).append(job_id)
        for cell in self._plan.cells:
            job_ids = recorded.get(cell.provider, {}).get(cell.key, [])
            if not job_ids:
                self._attach_paid(cell)
                continue
            record = journal_get(self.client_for(cell.provider), job_ids[-1])
            run = self._runs[cell.key]
            run.job_ids = job_ids
            run.job_id = job_ids[-1]
            if record is not None:
                apply_record(run, record, cell)

    def _attach_paid(self, cell: SweepCell) -> None:
        """A seeded cell paid for before (by any sweep or call) shows its clip at cost 0."""
        if cell.request.seed is None:
            return
        record = find_paid(self.client_for(cell.provider), cell)
        if record is None:
            return
        run = self._runs[cell.key]
        apply_record(run, record, cell)
        run.job_id = record.id
        run.from_cache = True
        run.cost = 0.0

    def journal_record(self, key: str) -> Any | None:
        """The journal record of the cell's latest job (None if it never ran)."""
        run = self._runs[key]
        if not run.job_id:
            return None
        cell = self.cell(key)
        return journal_get(self.client_for(cell.provider), run.job_id)

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
