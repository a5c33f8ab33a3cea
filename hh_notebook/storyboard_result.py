"""A storyboard's result: one row per shot, the stitched scene, and the exports (records,
JSON, CSV and a self-contained report in which the scene is one more clip)."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .pricing import CostTotal
from .report import export_report, records_csv
from .request import GenerationRequest
from .sweep.axes import AxisSpec

if TYPE_CHECKING:  # pragma: no cover
    from .stitch import StitchResult
    from .storyboard_run import Storyboard

__all__ = ["SceneRecord", "ShotRow", "StoryboardResult"]

#: The key of the stitched scene's row in reports and tables.
SCENE = "scene"


@dataclass(frozen=True)
class SceneRecord:
    """How the scene was made (what a report shows as its "request")."""

    board_id: str
    job_ids: tuple[str, ...]
    stitch: StitchResult | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the takes joined, how, and where each shot lies in the scene."""
        out: dict[str, Any] = {"storyboard": self.board_id, "stitched_from": list(self.job_ids)}
        if self.stitch is not None:
            out.update(mode=self.stitch.mode, duration=self.stitch.duration,
                       frames=self.stitch.frames, fps=str(self.stitch.fps),
                       dropped_frames=self.stitch.dropped_frames,
                       shots=[{"start": b.start, "end": b.end, "dropped_last_frame":
                               b.dropped_last_frame} for b in self.stitch.shots])
        return out


@dataclass(frozen=True)
class ShotRow:
    """One shot (or, with ``key == "scene"``, the stitched scene) of a board's result.

    ``start``/``end`` say where the shot lies in the scene (seconds), ``continues_from`` the
    number of the shot whose last frame it starts from, ``generation`` its take number. On a
    sandbox (``sandbox``) ``cost`` is the provider's price and nothing was paid.
    """

    key: str
    col: int
    prompt: str
    provider: str
    status: str
    job_id: str | None
    generation: int
    continues_from: int | None
    from_cache: bool
    cost: float | None
    currency: str | None
    video_path: pathlib.Path | None
    error: str | None
    request: GenerationRequest | SceneRecord
    start: float | None = None
    end: float | None = None
    rating: int | None = None
    note: str | None = None
    page: int = 0
    row: int = 0
    sandbox: bool = False

    def to_record(self, video_path: str | None = None) -> dict[str, Any]:
        """A flat, JSON-safe dict (one table row); ``video_path`` replaces the clip's path
        (a report writes its own copy's)."""
        record: dict[str, Any] = {"cell": self.key, "provider": self.provider,
                                  "prompt": self.prompt}
        request = self.request
        if isinstance(request, GenerationRequest):
            record.update(duration=request.duration, seed=request.seed,
                          resolution=request.resolution, mode=request.mode.value)
        record.update(
            continues_from=self.continues_from, generation=self.generation,
            status=self.status, from_cache=self.from_cache, cost=self.cost,
            currency=self.currency, sandbox=self.sandbox, start=self.start, end=self.end, job_id=self.job_id,
            video_path=video_path or (str(self.video_path) if self.video_path else None),
            error=self.error)
        return record


class StoryboardResult:
    """A storyboard's shots and its stitched scene (``video_path``, ``stitch``).

    It reads like a sweep's result, so :func:`hh_notebook.report.export_report` shows the
    shots and the scene side by side, the scene being one more clip.

    >>> result = board.run()                          # doctest: +SKIP
    >>> result.video_path, result.duration            # doctest: +SKIP
    >>> result.export_report("foal-report")           # doctest: +SKIP
    """

    #: What report pages call this result.
    kind = "storyboard"

    def __init__(self, board: Storyboard, stitch: StitchResult | None) -> None:
        self.board = board
        self.board_id = self.sweep_id = board.id
        self.stitch = stitch
        self.shots: list[ShotRow] = [self._shot_row(p.index) for p in board.shots]
        self.rows: list[ShotRow] = [*self.shots, self._scene_row()]
        labels = [f"shot {p.number}" for p in board.shots] + [SCENE]
        self.axes = (AxisSpec("shot", tuple(labels), tuple(labels)),)
        self.layout: tuple[int | None, int | None, int | None] = (None, 0, None)
        self.shape = (1, len(self.rows), 1)
        self.fixed: dict[str, Any] = {"provider": board.provider, "storyboard": board.id}

    def _shot_row(self, index: int) -> ShotRow:
        planned = self.board.shots[index]
        run = self.board.shot_state(index)
        bounds = self.stitch.shots[index] if self.stitch is not None else None
        return ShotRow(
            key=f"shot-{planned.number}", col=index, prompt=planned.request.prompt,
            provider=self.board.provider, status=run.status, job_id=run.job_id,
            generation=run.generation,
            continues_from=None if planned.parent is None else planned.parent + 1,
            from_cache=run.from_cache, cost=run.cost, currency=run.currency,
            video_path=run.video_path, error=run.error, request=planned.request,
            start=bounds.start if bounds else None, end=bounds.end if bounds else None,
            sandbox=self.board.client.is_sandbox)

    def _scene_row(self) -> ShotRow:
        ids = tuple(str(r.job_id) for r in self.shots)
        stitch = self.stitch
        status = "stitched" if stitch is not None else "waiting"
        return ShotRow(
            key=SCENE, col=len(self.shots), prompt=" / ".join(r.prompt for r in self.shots),
            provider=self.board.provider, status=status, job_id=None, generation=0,
            continues_from=None, from_cache=False, cost=None, currency=None,
            video_path=stitch.path if stitch is not None else None,
            error=self.board.scene.error, request=SceneRecord(self.board.id, ids, stitch),
            start=0.0 if stitch is not None else None,
            end=stitch.duration if stitch is not None else None)

    # -- the scene --------------------------------------------------------------------------
    @property
    def video_path(self) -> pathlib.Path | None:
        """The stitched scene (an H.264 + AAC MP4), or None while a shot has no clip."""
        return self.stitch.path if self.stitch is not None else None

    @property
    def duration(self) -> float | None:
        """The scene's length in seconds (the shots' minus the dropped boundary frames)."""
        return self.stitch.duration if self.stitch is not None else None

    @property
    def cost(self) -> CostTotal:
        """What the shots' current takes cost (clips served from the journal: $0)."""
        return self.board.spent

    @property
    def succeeded(self) -> list[ShotRow]:
        """Shots with a clip."""
        return [r for r in self.shots if r.status == "succeeded"]

    def __len__(self) -> int:
        return len(self.shots)

    def __iter__(self) -> Iterator[ShotRow]:
        return iter(self.shots)

    # -- exports ----------------------------------------------------------------------------
    def to_records(self, video_paths: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """One flat dict per shot, then one for the scene (``video_paths``: row key → the
        path to write instead, e.g. a report's own copy)."""
        paths = video_paths or {}
        return [row.to_record(paths.get(row.key)) for row in self.rows]

    def to_dict(self, video_paths: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Everything, JSON-safe, with the exact request of every shot."""
        paths = video_paths or {}
        return {"storyboard": self.board_id, "toolkit_version": __version__,
                "provider": self.board.provider,
                "rows": [{**row.to_record(paths.get(row.key)), "request": row.request.to_dict()}
                         for row in self.rows]}

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int = 2,
                video_paths: Mapping[str, str] | None = None) -> str:
        """The result as JSON (see :meth:`to_dict`); also written to ``path`` if given."""
        text = json.dumps(self.to_dict(video_paths), indent=indent, ensure_ascii=False,
                          default=str)
        if path is not None:
            pathlib.Path(path).write_text(text, encoding="utf-8")
        return text

    def to_csv(self, path: str | os.PathLike[str] | None = None, *,
               video_paths: Mapping[str, str] | None = None) -> str:
        """The table as CSV (one row per shot, then the scene; formula-like text defused, see
        :func:`~hh_notebook.report.records_csv`); also written to ``path``."""
        text = records_csv(self.to_records(video_paths))
        if path is not None:
            pathlib.Path(path).write_text(text, encoding="utf-8")
        return text

    def export_report(self, path: str | os.PathLike[str], *, single_file: bool = False,
                      title: str | None = None, frames: int = 8) -> pathlib.Path:
        """Write a self-contained report: every shot and the stitched scene, with posters,
        contact sheets, the table and the exact requests (see
        :func:`hh_notebook.report.export_report`)."""
        return export_report(self, path, single_file=single_file,  # type: ignore[arg-type]
                             title=title or f"Storyboard {self.board_id}", frames=frames)

    def show(self) -> Any:
        """Display the storyboard strip of this board and return the widget."""
        return self.board.show()

    def __repr__(self) -> str:
        states: dict[str, int] = {}
        for row in self.shots:
            states[row.status] = states.get(row.status, 0) + 1
        counts = ", ".join(f"{n} {s}" for s, n in states.items())
        scene = f"; scene {self.duration:.2f} s" if self.duration is not None else ""
        return f"<StoryboardResult {self.board_id}: {len(self.shots)} shots ({counts}){scene}>"
