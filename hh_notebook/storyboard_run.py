"""Running a storyboard: every shot one ordinary journaled job, submitted through the public
:class:`~hh_notebook.client.Client` API; chained shots one after another (each starts from
the exact last frame of the one before, sent as PNG), independent ones in parallel; the
whole board priced and held to a budget before the first submit; then the shots stitched
into one clip beside the journal's clips.

Resuming: the board's id is a content hash, so the same board built again after a restart
finds its jobs in the journal (see :mod:`hh_notebook.storyboard_state`): shots with a clip
are kept, running ones followed again, the rest submitted. Regenerating a shot submits a new
take of it and of the shots that continue from it, nothing else.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import HHError, SubmitUncertain
from .jobs import Job
from .present import normalise_progress, one_line, shorten, status_value
from .runtime import run_blocking, show_in_notebook
from .storyboard_state import (
    ACTIVE,
    TAG_AFTER,
    TAG_BOARD,
    TAG_GENERATION,
    TAG_SHOT,
    BoardEstimate,
    BoardState,
    SceneState,
)

if TYPE_CHECKING:
    from .stitch import StitchResult
    from .storyboard_result import StoryboardResult

__all__ = ["Storyboard"]

log = logging.getLogger(__name__)
_background: set[asyncio.Task[Any]] = set()


class Storyboard(BoardState):
    """A planned storyboard: its shots, what they cost, the takes that fill them and the
    stitched scene. Build one with :func:`hh_notebook.storyboard`; nothing is submitted until
    :meth:`run` (or :meth:`start` in a notebook).

    >>> board = hh.storyboard(["a foal wakes", "it stands up"], duration=4)  # doctest: +SKIP
    >>> board.estimate()                  # what the shots still to pay cost  # doctest: +SKIP
    >>> result = board.run()              # blocks; result.video_path: scene  # doctest: +SKIP
    >>> board.regenerate(1)               # a new take of shot 2 and after    # doctest: +SKIP
    """

    _running = False
    _task: asyncio.Task[Any] | None = None
    _seeds: dict[int, int] | None = None

    # -- running ----------------------------------------------------------------------------
    def run(self, *, confirm: bool = False, budget: float | dict[str, float] | None = None,
            timeout: float | None = None) -> StoryboardResult:
        """Run every shot without a clip, block until the board is done and return its
        result (with the stitched scene when every shot has a clip).

        Refuses with :class:`~hh_notebook.errors.BudgetExceeded` before submitting anything
        when the new shots cost more than the budget, unless ``confirm=True``.
        """
        return run_blocking(self.run_async(confirm=confirm, budget=budget, timeout=timeout))

    async def run_async(self, *, confirm: bool = False,
                        budget: float | dict[str, float] | None = None,
                        timeout: float | None = None) -> StoryboardResult:
        """The non-blocking form of :meth:`run`."""
        self._load()
        todo = [i for i, run in enumerate(self._runs) if run.status != "succeeded"]
        if not confirm:
            self.check_budget(budget, todo)
        return await self._execute(todo, force=(), timeout=timeout)

    def start(self, *, confirm: bool = False,
              budget: float | dict[str, float] | None = None) -> asyncio.Task[Any]:
        """Run in the background of the running event loop (a notebook) and return the task;
        the budget is checked first, here."""
        loop = asyncio.get_running_loop()
        if not confirm:
            self.check_budget(budget, [i for i, r in enumerate(self._runs)
                                       if r.status != "succeeded"])
        return self._in_background(loop.create_task(self.run_async(confirm=True),
                                                    name=f"hh-storyboard-{self.id}"))

    def _in_background(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        # The loop holds tasks weakly: keep this one until it ends, and log an error nobody
        # awaited.
        _background.add(task)
        task.add_done_callback(_finished_in_background)
        self._task = task
        return task

    @property
    def running(self) -> bool:
        """True while shots of this board are being run."""
        return self._running

    async def _execute(self, todo: Sequence[int], *, force: Sequence[int],
                       timeout: float | None) -> StoryboardResult:
        if self._running:
            raise HHError(f"storyboard {self.id} is already running")
        self._running = True
        try:
            done = {i: asyncio.Event() for i in range(len(self._runs))}
            for index, event in done.items():
                if index not in todo:
                    event.set()
            for index in todo:
                self._update(index, status="queued", error=None, progress=None)
            limit = asyncio.Semaphore(self.concurrency)
            tasks = [asyncio.ensure_future(self._run_shot(i, done, limit, i in force))
                     for i in todo]
            try:
                if tasks:
                    await asyncio.wait_for(asyncio.gather(*tasks), timeout)
            finally:
                for task in tasks:
                    task.cancel()
        finally:
            self._running = False
            self._changed(None)
        await self._stitch_when_complete()
        return self.result()

    async def _run_shot(self, index: int, done: dict[int, asyncio.Event],
                        limit: asyncio.Semaphore, force: bool) -> None:
        planned = self.plan.shots[index]
        try:
            if planned.parent is not None:
                self._update(index, status="waiting")
                await done[planned.parent].wait()
                parent = self._runs[planned.parent]
                if parent.status != "succeeded" or parent.video_path is None:
                    self._update(index, status="blocked", error=(
                        f"shot {planned.parent + 1} has no clip to continue from"))
                    return
            run = self._runs[index]
            if run.status == "succeeded" and run.video_path is not None and not force:
                return  # the journal held a take made from the parent's current one
            async with limit:
                job = await self._attach_or_submit(index, force)
                await self._follow(index, job)
        except Exception as exc:  # noqa: BLE001 - one shot's failure must not stop the others
            self._fail(index, exc)
        finally:
            done[index].set()

    async def _attach_or_submit(self, index: int, force: bool) -> Job:
        run = self._runs[index]
        # A job the journal still follows (a restart, lost tracking) is resumed, never paid
        # for twice; only takes that ended without a clip are submitted again.
        if run.job_id and run.unfinished and not force:
            job = await self.client.resume(run.job_id)
            self._record_job(index, job)
            return job
        planned = self.plan.shots[index]
        self._update(index, status="submitting")
        frame = await asyncio.to_thread(self._parent_frame, planned)
        request = planned.request_with(frame, (self._seeds or {}).get(index))
        tags: dict[str, Any] = {TAG_BOARD: self.id, TAG_SHOT: index,
                                TAG_GENERATION: run.generation + 1}
        if planned.parent is not None:
            tags[TAG_AFTER] = self._runs[planned.parent].job_id
        try:
            job = await self.client.submit(request, force=force, tags=tags)
        except SubmitUncertain as exc:
            if exc.job is not None:
                self._record_job(index, exc.job)
            raise
        self._record_job(index, job)
        return job

    def _record_job(self, index: int, job: Job) -> None:
        """Make ``job`` shot ``index``'s current take; the shots after it lose theirs unless
        the journal holds one made from this very take."""
        with self._lock:
            run = self._runs[index]
            previous = run.job_id
            run.job_id = job.id
            run.from_cache = job.from_cache
            if not job.from_cache:
                run.generation = int(job.tags.get(TAG_GENERATION) or run.generation)
            after = job.tags.get(TAG_AFTER) if not job.from_cache else None
            parent = self.plan.shots[index].parent
            run.after = after or (None if parent is None else self._runs[parent].job_id)
            run.status = "running"
            run.unfinished = not job.done
            run.submitted_at = job.submitted_at or job.created_at
        self._changed(index)
        if previous != job.id:
            for child in self.plan.children(index):
                self._adopt(child)

    async def _follow(self, index: int, job: Job) -> None:
        def on_event(event: Any) -> None:
            status = status_value(event.status)
            self._update(index, status=status if status in ACTIVE else "running",
                         progress=normalise_progress(event.progress))

        unsubscribe = job.subscribe(on_event)
        try:
            await job.wait()
        finally:
            unsubscribe()
        self._finish(index, job)

    def _finish(self, index: int, job: Job) -> None:
        status, error = status_value(job.status), job.error
        if status == "succeeded" and job.video_path is None:
            status, error = "failed", error or "the job succeeded but its clip was not saved"
        elif status not in ("succeeded", "failed", "expired", "unknown"):
            status, error = "unknown", error or "tracking ended before the job finished"
        amount, currency = _cost_of(job)
        self._update(
            index, status=status, from_cache=job.from_cache,
            # Only clips that came back count as spent (Apiframe refunds failed jobs).
            cost=0.0 if job.from_cache else (amount if status == "succeeded" else None),
            currency=currency, video_path=job.video_path, error=error,
            finished_at=job.finished_at or time.time(), unfinished=False,
            progress=1.0 if status == "succeeded" else None,
        )

    def _fail(self, index: int, exc: BaseException) -> None:
        status = "unknown" if isinstance(exc, SubmitUncertain) else "failed"
        self._update(index, status=status, error=one_line(exc), finished_at=time.time(),
                     unfinished=isinstance(exc, SubmitUncertain))

    # -- regenerating -----------------------------------------------------------------------
    def regeneration_estimate(self, index: int) -> BoardEstimate:
        """What :meth:`regenerate` of shot ``index`` would submit and cost (shown first)."""
        return self.estimate(self.plan.downstream(self._index(index)), fresh=True)

    def regenerate(self, index: int, *, seed: int | None = None, confirm: bool = False,
                   budget: float | dict[str, float] | None = None,
                   timeout: float | None = None) -> StoryboardResult:
        """A new take of shot ``index`` (0 for the first) and of every shot that continues
        from it; earlier shots keep theirs. Blocks; returns the new result.

        ``seed`` gives the new take a seed of its own; without one, a seeded shot is paid
        again with the same seed (a provider may then return the same take). The cost of the
        shots that rerun (:meth:`regeneration_estimate`) is held to the budget first, unless
        ``confirm=True``.
        """
        return run_blocking(self.regenerate_async(index, seed=seed, confirm=confirm,
                                                  budget=budget, timeout=timeout))

    async def regenerate_async(self, index: int, *, seed: int | None = None,
                               confirm: bool = False,
                               budget: float | dict[str, float] | None = None,
                               timeout: float | None = None) -> StoryboardResult:
        """The non-blocking form of :meth:`regenerate`."""
        index = self._index(index)
        if self._running:
            raise HHError(f"storyboard {self.id} is running: regenerate once it is done")
        targets = self.plan.downstream(index)
        if not confirm:
            self.check_budget(budget, targets, fresh=True)
        if seed is not None:
            self._seeds = {**(self._seeds or {}), index: seed}
        same_seed = seed is None and self.plan.shots[index].request.seed is not None
        for target in targets:
            self._runs[target].clear()
            self._changed(target)
        self._set_scene(SceneState())
        return await self._execute(targets, force=(index,) if same_seed else (),
                                   timeout=timeout)

    def _index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"a shot index is an int, not {type(index).__name__}")
        if not 0 <= index < len(self._runs):
            raise IndexError(f"no shot {index}: this board has shots 0 to {len(self._runs) - 1}")
        self._load()
        return index

    # -- the stitched scene -----------------------------------------------------------------
    def _set_scene(self, scene: SceneState) -> None:
        self.scene = scene
        self._changed(None)

    async def _stitch_when_complete(self) -> None:
        if not self.complete:
            self._set_scene(SceneState())
            return
        ids = tuple(str(r.job_id) for r in self._runs)
        if self.scene.status == "ready" and self.scene.job_ids == ids:
            return
        self._set_scene(SceneState("stitching", job_ids=ids))
        try:
            result = await asyncio.to_thread(self._stitched, ids)
        except Exception as exc:  # noqa: BLE001 - shown with the board, the shots stay
            log.warning("storyboard %s: stitching failed: %s", self.id, exc)
            self._set_scene(SceneState("failed", job_ids=ids, error=one_line(exc)))
        else:
            self._set_scene(SceneState("ready", result, ids))

    def stitched(self) -> StitchResult | None:
        """The stitched scene of the shots' current takes (stitched now if needed), or None
        while a shot has no clip."""
        if not self.complete:
            return None
        ids = tuple(str(r.job_id) for r in self._runs)
        if self.scene.status != "ready" or self.scene.job_ids != ids:
            self._set_scene(SceneState("ready", self._stitched(ids), ids))
        return self.scene.result  # type: ignore[no-any-return]

    def scene_path(self, job_ids: Sequence[str]) -> Path:
        """Where the scene of these takes goes: beside the journal's clips, named after the
        board and the takes (a regenerated board gets a new file)."""
        digest = hashlib.sha256("|".join(job_ids).encode()).hexdigest()[:10]
        return self.client.data_dir / "clips" / f"storyboard-{self.id}-{digest}.mp4"

    def _stitched(self, job_ids: tuple[str, ...]) -> StitchResult:
        from .stitch import stitch

        target = self.scene_path(job_ids)
        known = _from_sidecar(target)
        if known is not None:
            return known
        target.parent.mkdir(parents=True, exist_ok=True)
        return stitch([r.video_path for r in self._runs if r.video_path is not None], target)

    # -- results and views ------------------------------------------------------------------
    def result(self) -> StoryboardResult:
        """The board now: one row per shot and, when every shot has a clip, the scene."""
        from .storyboard_result import StoryboardResult

        self._load()
        return StoryboardResult(self, self.stitched())

    def show(self) -> Any:
        """Display the live storyboard strip and return the widget."""
        return show_in_notebook(self)

    def __repr__(self) -> str:
        done = sum(r.status == "succeeded" for r in self._runs)
        return (f"<Storyboard {self.id}: {len(self._runs)} shots at {self.provider}, "
                f"{done} with a clip>")

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self) if cycle else self.preview_text())

    def preview_text(self) -> str:
        """Every shot (what it starts from, duration, seed) and the estimate."""
        lines = [f"Storyboard {self.id}: {len(self._runs)} shots at {self.provider}"]
        for planned in self.plan.shots:
            request = planned.request
            start = ("starts afresh" if planned.parent is None
                     else f"continues from shot {planned.parent + 1}")
            seed = f", seed {request.seed}" if request.seed is not None else ""
            status = self.shot_state(planned.index).status
            lines.append(f"  {planned.number}. {shorten(request.prompt, 50)} — {start}, "
                         f"{request.duration} s{seed} [{status}]")
        lines.append(f"  estimate: {self.estimate()}")
        return "\n".join(lines)


def _cost_of(job: Job) -> tuple[float | None, str | None]:
    cost = job.cost
    if isinstance(cost, (int, float)):
        from . import catalog

        return float(cost), catalog.facts(job.provider).currency
    return getattr(cost, "amount", None), getattr(cost, "currency", None)


def _from_sidecar(target: Path) -> StitchResult | None:
    """A scene stitched before (a restart): rebuilt from its ``.shots.json`` sidecar."""
    sidecar = target.with_suffix(".shots.json")
    if not (target.is_file() and sidecar.is_file()):
        return None
    from .stitch import CAN_WRITE_CHAPTERS, ShotBoundary, StitchResult

    try:
        doc = json.loads(sidecar.read_text(encoding="utf-8"))
        bounds = tuple(ShotBoundary(**b) for b in doc["shots"])
        return StitchResult(
            path=target, mode=doc["mode"], duration=float(doc["duration"]),
            frames=int(doc["frames"]), fps=Fraction(doc["fps"]), shots=bounds,
            dropped_frames=int(doc["dropped_frames"]), sidecar=sidecar,
            chapters=CAN_WRITE_CHAPTERS)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable: stitched again


def _finished_in_background(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: %s", task.get_name(), task.exception())
