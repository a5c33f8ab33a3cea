"""What a storyboard knows about its shots: each shot's current take (found again in the
journal after a restart), what the rest will cost, and the budget check.

Every shot's job carries the journal tags ``{"storyboard": board id, "shot": index,
"generation": n}`` and, for a chained shot, ``"after"``: the job id of the take its first
frame came from. A shot's current take is its newest job made from its parent's current
take, so a regenerated shot leaves the shots after it without a take (they run again) while
earlier shots keep theirs. A seeded shot paid before with exactly the same request is served
from the journal (no tags are added to that job: it belongs to whoever paid it).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import catalog
from .client import Client, client_for
from .errors import HHError, ValidationError
from .journal import JobRecord
from .present import SANDBOX_LABEL, duration_text, normalise_progress, status_value
from .pricing import CostEstimate, CostTotal, estimate_cost
from .storyboard_plan import BoardPlan, PlannedShot
from .sweep.estimate import (
    budget_limits,
    check_budget,
    check_concurrency,
    refuse_above,
    settings,
)

__all__ = ["ACTIVE", "FAILED", "TAG_AFTER", "TAG_BOARD", "TAG_GENERATION", "TAG_SHOT",
           "BoardEstimate", "BoardState", "SceneState", "ShotRun", "apply_record"]

TAG_BOARD = "storyboard"
TAG_SHOT = "shot"
TAG_GENERATION = "generation"
TAG_AFTER = "after"
#: Shot statuses: pending (nothing yet), waiting (for the shot it continues from), queued,
#: submitting, running, succeeded, failed, expired, unknown (a submit without an answer),
#: blocked (the shot it continues from has no clip).
ACTIVE = frozenset({"waiting", "queued", "submitting", "running"})
FAILED = frozenset({"failed", "expired", "unknown", "blocked"})
_STATUSES = frozenset({"pending", "succeeded"}) | ACTIVE | FAILED

#: Clients by provider, shared by every board of this process (one journal connection each).
_CLIENTS: dict[str | None, Client] = {}


@dataclass
class ShotRun:
    """One shot's current take: its job, status, progress, cost and clip."""

    status: str = "pending"
    job_id: str | None = None
    #: The take number of the current job (0: none yet); every new job of a shot adds one.
    generation: int = 0
    #: The job id of the take this one's first frame came from (chained shots).
    after: str | None = None
    from_cache: bool = False
    cost: float | None = None
    currency: str | None = None
    progress: float | None = None
    video_path: Path | None = None
    error: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None
    #: True while the journal still follows the job: it is resumed, never paid again.
    unfinished: bool = False

    def clear(self) -> None:
        """Forget the take (a new one is coming); the take count stays."""
        for name in dataclasses.fields(self):
            if name.name != "generation":
                setattr(self, name.name, name.default)


@dataclass
class SceneState:
    """The stitched clip: ``waiting`` (shots missing), ``stitching``, ``ready`` or ``failed``;
    ``result`` is the :class:`~hh_notebook.stitch.StitchResult` of the shots' current takes."""

    status: str = "waiting"
    result: Any = None
    job_ids: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class BoardEstimate:
    """What running (part of) a board will cost before anything is submitted: the shots to
    submit (``new``, by index), those kept (a clip already) or resumed (submitted before,
    still running: not paid again), their estimated ``cost`` and the ideal wall time in real
    seconds (chained shots run one after another)."""

    shots: int
    new: tuple[int, ...]
    kept: int
    resumed: int
    cost: CostTotal
    seconds: float
    #: The board runs on a sandbox: ``cost`` is at the providers' prices, nothing is paid.
    sandbox: bool = False

    def cost_text(self) -> str:
        """The cost as text, marked "sandbox — not paid" on a sandbox."""
        return f"{self.cost}" + (f" at the providers' prices ({SANDBOX_LABEL})"
                                 if self.sandbox else "")

    def __str__(self) -> str:
        parts = [f"{len(self.new)} new"]
        if self.kept:
            parts.append(f"{self.kept} kept")
        if self.resumed:
            parts.append(f"{self.resumed} still running (resumed, $0)")
        shots = ", ".join(f"{i + 1}" for i in self.new)
        which = f" (shot{'s' if len(self.new) > 1 else ''} {shots})" if self.new else ""
        return (f"{self.shots} shots: {', '.join(parts)}{which}: about {self.cost_text()}, "
                f"~{duration_text(self.seconds)}")


class BoardState:
    """A planned board's shots, their current takes from the journal, estimates and the
    budget check; :class:`~hh_notebook.storyboard_run.Storyboard` adds running."""

    def __init__(self, plan: BoardPlan, *, client: Client | None = None,
                 provider: str | None = None, budget: float | dict[str, float] | None = None,
                 concurrency: int | None = None) -> None:
        self.plan = plan
        self.id = plan.id
        self.budget = None if budget is None else check_budget(budget)
        self.concurrency = (settings.concurrency if concurrency is None
                            else check_concurrency(concurrency))
        self._client = client
        self._provider = provider
        self._runs = [ShotRun() for _ in plan.shots]
        self._listeners: list[Callable[[int | None], None]] = []
        self._loaded = False
        self._lock = threading.Lock()
        self._frames: dict[int, tuple[str, bytes]] = {}
        self.scene = SceneState()

    # -- shape ------------------------------------------------------------------------------
    @property
    def shots(self) -> tuple[PlannedShot, ...]:
        """Every shot, in order."""
        return self.plan.shots

    @property
    def provider(self) -> str:
        """The provider every shot runs at."""
        return self.plan.provider

    @property
    def client(self) -> Client:
        """The client that runs the shots (made on first use)."""
        if self._client is None:
            self._client = client_for(self._provider, _CLIENTS)
        return self._client

    def shot_state(self, index: int) -> ShotRun:
        """A copy of shot ``index``'s current take."""
        self._load()
        with self._lock:
            return dataclasses.replace(self._runs[index])

    @property
    def spent(self) -> CostTotal:
        """What the shots' current takes cost (clips served from the journal: $0; on a
        sandbox nothing is paid: counted apart, ``CostTotal.sandbox``)."""
        self._load()
        sandbox = self.client.is_sandbox
        return CostTotal.of(CostEstimate(r.cost, r.currency or "USD", None, 0, sandbox=sandbox)
                            if r.cost is not None else None
                            for r in self._runs if r.status == "succeeded")

    @property
    def complete(self) -> bool:
        """True when every shot has a clip on disk."""
        self._load()
        return all(r.status == "succeeded" and r.video_path is not None
                   and r.video_path.is_file() for r in self._runs)

    # -- listeners --------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[int | None], None]) -> Callable[[], None]:
        """Call ``callback(shot index)`` when a shot changes (None: the stitched clip or the
        whole board); returns a function that unsubscribes."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def _changed(self, index: int | None) -> None:
        for callback in list(self._listeners):
            callback(index)

    def _update(self, index: int, **changes: Any) -> None:
        with self._lock:
            run = self._runs[index]
            for name, value in changes.items():
                setattr(run, name, value)
        self._changed(index)

    # -- the journal ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read every shot's current take from the journal again."""
        self._loaded = False
        self._load()

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for planned in self.plan.shots:
            if planned.parent is None:
                self._adopt(planned.index)

    def _records(self, index: int) -> list[JobRecord]:
        """Shot ``index``'s jobs in this board, oldest take first."""
        records = [r for r in self.client.journal.find_by_tag(TAG_BOARD, self.id)
                   if _number(r.tags.get(TAG_SHOT)) == index]
        return sorted(records, key=lambda r: (_number(r.tags.get(TAG_GENERATION)), r.created_at))

    def _adopt(self, index: int) -> None:
        """Attach shot ``index``'s current take from the journal (made from its parent's
        current take), then do the same for the shots that continue from it."""
        planned = self.plan.shots[index]
        records = self._records(index)
        parent_job = None if planned.parent is None else self._runs[planned.parent].job_id
        run = self._runs[index]
        waiting = run.status in ("queued", "waiting")
        run.clear()
        run.generation = max((_number(r.tags.get(TAG_GENERATION)) for r in records), default=0)
        if planned.parent is None or parent_job is not None:
            mine = [r for r in records
                    if planned.parent is None or r.tags.get(TAG_AFTER) == parent_job]
            if mine:
                apply_record(run, mine[-1])
            else:
                self._attach_paid(planned)
        if waiting and run.job_id is None:
            run.status = "waiting"  # a run is under way and will get to it
        self._changed(index)
        for child in self.plan.children(index):
            self._adopt(child)

    def _attach_paid(self, planned: PlannedShot) -> None:
        """A seeded shot paid for before with exactly this request shows that clip at $0."""
        if planned.request.seed is None:
            return
        try:
            request = planned.request_with(self._parent_frame(planned))
            record = self.client.journal.find_paid(request.fingerprint(self.provider))
        except (HHError, OSError, ValueError):
            return
        if record is not None:
            run = self._runs[planned.index]
            generation = run.generation
            apply_record(run, record)
            # The record belongs to whoever paid it: its tags say nothing about this board.
            run.generation, run.from_cache, run.cost = generation, True, 0.0
            run.after = None if planned.parent is None else self._runs[planned.parent].job_id

    def _parent_frame(self, planned: PlannedShot) -> bytes | None:
        """The exact last frame of the shot ``planned`` continues from, as PNG bytes (None for
        a shot that starts afresh). Raises when that shot has no clip."""
        if planned.parent is None:
            return None
        parent = self._runs[planned.parent]
        if parent.job_id is None or parent.video_path is None:
            raise HHError(f"shot {planned.parent + 1} has no clip to continue from")
        cached = self._frames.get(planned.parent)
        if cached is not None and cached[0] == parent.job_id:
            return cached[1]
        from .stitch import last_frame_png  # PyAV: loaded only when a frame is needed

        frame = last_frame_png(parent.video_path)
        self._frames[planned.parent] = (parent.job_id, frame)
        return frame

    # -- estimate and budget ----------------------------------------------------------------
    def estimate(self, shots: Sequence[int] | None = None, *, fresh: bool = False
                 ) -> BoardEstimate:
        """What running ``shots`` (default: every shot) will cost now. Shots with a clip are
        kept and running ones resumed, both at $0, unless ``fresh`` (a regeneration: every
        one of ``shots`` is a new take)."""
        self._load()
        indices = list(range(len(self._runs))) if shots is None else sorted(shots)
        new: list[int] = []
        kept = resumed = 0
        for index in indices:
            run = self._runs[index]
            if not fresh and run.status == "succeeded":
                kept += 1
            elif not fresh and run.job_id and run.unfinished:
                resumed += 1
            else:
                new.append(index)
        cost = CostTotal.of([self._price(i) for i in new])
        return BoardEstimate(len(self._runs), tuple(new), kept, resumed, cost,
                             self._ideal_seconds(new), self.client.is_sandbox)

    def _price(self, index: int) -> CostEstimate | None:
        try:
            return estimate_cost(self.plan.shots[index].request, self.provider)
        except ValidationError:
            return None

    def _ideal_seconds(self, new: Sequence[int]) -> float:
        levels: dict[int, int] = {}
        for index in new:
            parent = self.plan.shots[index].parent
            levels[index] = levels.get(parent, 0) + 1 if parent in levels else 1
        chain = max(levels.values(), default=0)
        waves = max(chain, math.ceil(len(new) / self.concurrency))
        low, high = catalog.facts(self.provider).typical_duration
        client = self.client
        scale = client.time_scale if client.is_sandbox else 1.0
        return waves * (low + high) / 2 * scale

    def check_budget(self, budget: float | dict[str, float] | None = None,
                     shots: Sequence[int] | None = None, *, fresh: bool = False
                     ) -> BoardEstimate:
        """Raise :class:`~hh_notebook.errors.BudgetExceeded` when the shots still to be paid
        cost more than ``budget`` (else the board's, else ``HH_BUDGET``); return the estimate.
        """
        est = self.estimate(shots, fresh=fresh)
        limit = budget_limits(budget if budget is not None else self.budget)
        if limit and est.new:
            refuse_above(limit, est.cost.amounts, est.cost.unknown,
                         f"storyboard {self.id}: {len(est.new)} new shot(s) would cost about "
                         f"{est.cost_text()}")
        return est


def apply_record(run: ShotRun, record: JobRecord) -> None:
    """Show a journal record as a shot's take."""
    status = status_value(record.status).lower() or "unknown"
    if status == "submitting" or (record.unfinished and status in ("queued", "running",
                                                                     "succeeded")):
        status = "running"  # the journal still follows it: resumed, never paid again
    run.status = status if status in _STATUSES else "unknown"
    run.job_id = record.id
    run.generation = _number(record.tags.get(TAG_GENERATION)) or run.generation
    after = record.tags.get(TAG_AFTER)
    run.after = str(after) if after else None
    run.cost, run.currency = record.cost, record.currency
    run.progress = 1.0 if run.status == "succeeded" else normalise_progress(record.progress)
    run.video_path = Path(record.video_path) if record.video_path else None
    run.error = record.error
    run.submitted_at = record.submitted_at or record.created_at
    run.finished_at = record.finished_at
    run.unfinished = record.unfinished


def _number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

