"""A sweep's result: one row per cell with everything known about it, its clip metrics
(:meth:`SweepResult.measure`), and its exports (pandas, records, JSON, CSV, a
self-contained report)."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .. import catalog
from .._version import __version__
from ..metrics import DUPLICATE_MAX_DISTANCE, ClipMetrics, measure_many, require_extra
from ..metrics import duplicates as hash_duplicates
from ..metrics import seed_diversity as hash_diversity
from ..metrics_columns import metrics_record
from ..report import export_report, records_csv
from ..request import GenerationRequest
from ..runtime import show_in_notebook
from .axes import image_label, value_label
from .cells import FAILED
from .plan import SweepCell

if TYPE_CHECKING:  # pragma: no cover
    import pandas

    from .run import Sweep

__all__ = ["SweepResult", "SweepRow"]

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
    clips served from the journal (``from_cache``); for a clip made on a sandbox
    (``sandbox``) it is the provider's price, and nothing was paid. ``metrics`` is the clip's
    :class:`~hh_notebook.metrics.ClipMetrics` once :meth:`SweepResult.measure` ran.
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
    metrics: ClipMetrics | None = None
    sandbox: bool = False

    @property
    def elapsed(self) -> float | None:
        """Real seconds from submit to finish, when both are known."""
        if self.submitted_at is None or self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.submitted_at)

    @property
    def has_clip(self) -> bool:
        """True when the cell succeeded and its clip is on disk."""
        return bool(self.status == "succeeded" and self.video_path
                    and pathlib.Path(self.video_path).is_file())

    def to_record(self, video_path: str | None = None, *,
                  metrics: bool | None = None) -> dict[str, Any]:
        """A flat, JSON-safe dict (one table row). ``video_path`` replaces the clip's path (a
        report writes its own copy's), which is otherwise absolute. With ``metrics`` (default:
        when this row was measured) it ends with the clip-metric columns, empty for a row
        without."""
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
            sandbox=self.sandbox,
            submitted_at=self.submitted_at,
            finished_at=self.finished_at,
            elapsed_s=None if self.elapsed is None else round(self.elapsed, 3),
            video_path=video_path or (str(pathlib.Path(self.video_path).absolute())
                                      if self.video_path else None),
            rating=self.rating,
            note=self.note,
            job_id=self.job_id,
            error=self.error,
        )
        if metrics or (metrics is None and self.metrics is not None):
            record.update(metrics_record(self.metrics))
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
    try:
        return catalog.default_version(provider)
    except KeyError:
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
            sandbox=bool(state.get("sandbox")),
        )

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[SweepRow]:
        return iter(self.rows)

    @property
    def failed(self) -> list[SweepRow]:
        """Rows whose job failed, expired or was lost."""
        return [r for r in self.rows if r.status in FAILED]

    @property
    def succeeded(self) -> list[SweepRow]:
        """Rows with a clip."""
        return [r for r in self.rows if r.status == "succeeded"]

    def refresh(self) -> SweepResult:
        """A new result with the latest states, ratings and notes (metrics of unchanged
        clips are kept)."""
        fresh = SweepResult(self.sweep)
        known = {(r.key, r.video_path): r.metrics for r in self.rows if r.metrics is not None}
        fresh.rows = [replace(r, metrics=known.get((r.key, r.video_path))) for r in fresh.rows]
        return fresh

    def rerun_failed(self, *, confirm: bool = False) -> SweepResult:
        """Submit again only the failed cells of this sweep; block; return the new result."""
        return self.sweep.rerun_failed(confirm=confirm)

    def to_records(self, video_paths: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """One flat dict per cell: every parameter, status, cost, timings, clip, rating, note,
        and once :meth:`measure` ran, every clip metric (columns in docs/METRICS.md).
        ``video_paths`` (cell key → path) replaces the clips' paths, e.g. with a report's."""
        measured = any(row.metrics is not None for row in self.rows)
        paths = video_paths or {}
        return [row.to_record(paths.get(row.key), metrics=measured) for row in self.rows]

    # -- clip metrics -------------------------------------------------------------------------
    def measure(self, workers: int | None = None, *,
                on_result: Callable[[SweepRow], None] | None = None) -> SweepResult:
        """Measure every clip (motion, flicker, sharpness, cuts, loudness, sync proxy, hashes;
        see :mod:`hh_notebook.metrics`) in up to ``workers`` processes (default: every core)
        and return this result, whose rows, tables and exports now carry the figures.

        Figures are cached in the sweep's journal by the SHA-256 of each clip, so no clip is
        ever measured twice; rows already measured are skipped. ``on_result(row)`` is called
        (in this thread) with each row as its figures arrive. Raises
        :class:`~hh_notebook.errors.MissingDependency` naming the extra
        (``pip install 'hh_notebook[metrics]'``) when it is not installed.

        >>> result.measure().to_pandas().sort_values("motion_px")   # doctest: +SKIP
        """
        todo = [i for i, row in enumerate(self.rows)
                if row.has_clip and (row.metrics is None or not row.metrics.ok)]
        if not todo:
            return self
        require_extra()

        def arrived(index: int, metrics: ClipMetrics) -> None:
            row = self.rows[todo[index]] = replace(self.rows[todo[index]], metrics=metrics)
            if on_result is not None:
                on_result(row)

        measure_many([str(self.rows[i].video_path) for i in todo], workers,
                     journal=self.sweep.client.journal, on_result=arrived)
        return self

    @property
    def metrics(self) -> dict[str, ClipMetrics]:
        """The figures of every measured clip, by cell key (empty before :meth:`measure`)."""
        return {row.key: row.metrics for row in self.rows if row.metrics is not None}

    def duplicates(self, max_distance: float = DUPLICATE_MAX_DISTANCE, *,
                   workers: int | None = None) -> list[list[SweepRow]]:
        """Groups of near-identical clips (perceptual hashes at most ``max_distance`` bits
        apart of 64, transitively; see :func:`hh_notebook.metrics.duplicates`). Measures
        first when needed.

        >>> [[r.axes for r in group] for group in result.duplicates()]   # doctest: +SKIP
        [[{'seed': '3'}, {'seed': '7'}]]
        """
        rows = self._measured(workers)
        groups = hash_duplicates([r.metrics for r in rows if r.metrics], max_distance)
        return [[rows[i] for i in group] for group in groups]

    def seed_diversity(self, *, workers: int | None = None) -> float:
        """How different the seeds make the clips: 0 when every seed gives the same picture,
        about 0.5 for unrelated pictures. Clips are compared only with those that differ
        from them by seed alone (same values of every other axis), by the mean pairwise
        distance of their perceptual hashes (:func:`hh_notebook.metrics.seed_diversity`),
        and the groups' scores are averaged. Measures first when needed.

        Raises ValueError when the sweep has no seed axis or no two measured clips that
        differ only by seed.
        """
        if not any(axis.name == "seed" for axis in self.axes):
            raise ValueError("seed_diversity needs a sweep with a seed axis (e.g. seed='1-4'); "
                             "hh_notebook.metrics.seed_diversity compares any clips")
        groups: dict[tuple[tuple[str, str], ...], list[ClipMetrics]] = {}
        for row in self._measured(workers):
            if row.metrics is not None and row.metrics.hashes:
                others = tuple(sorted((k, v) for k, v in row.axes.items() if k != "seed"))
                groups.setdefault(others, []).append(row.metrics)
        scores = [hash_diversity(group) for group in groups.values() if len(group) > 1]
        if not scores:
            raise ValueError("seed_diversity needs two measured clips that differ only by seed")
        return sum(scores) / len(scores)

    def _measured(self, workers: int | None) -> list[SweepRow]:
        """The rows with figures, measuring whatever is missing first."""
        self.measure(workers)
        return [row for row in self.rows if row.metrics is not None and row.metrics.ok]

    def to_pandas(self) -> pandas.DataFrame:
        """The rows as a pandas DataFrame (``submitted_at``/``finished_at`` as UTC datetimes)."""
        import pandas as pd

        frame = pd.DataFrame.from_records(self.to_records())
        for column in ("submitted_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        return frame

    def to_dict(self, video_paths: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Everything, JSON-safe: sweep id, axes, fixed parameters, toolkit version, rows and
        the exact request of every cell (``video_paths``: as in :meth:`to_records`)."""
        paths = video_paths or {}
        return {
            "sweep_id": self.sweep_id,
            "toolkit_version": __version__,
            "shape": {"rows": self.shape[0], "columns": self.shape[1], "pages": self.shape[2]},
            "axes": [{"name": a.name, "kind": a.kind, "labels": list(a.labels)} for a in self.axes],
            "fixed": {k: _jsonable(v) for k, v in self.fixed.items()},
            "rows": [{**row.to_record(paths.get(row.key)), "request": row.request.to_dict()}
                     for row in self.rows],
        }

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int = 2,
                video_paths: Mapping[str, str] | None = None) -> str:
        """The result as JSON (see :meth:`to_dict`); also written to ``path`` if given."""
        text = json.dumps(self.to_dict(video_paths), indent=indent, ensure_ascii=False)
        if path is not None:
            pathlib.Path(path).write_text(text, encoding="utf-8")
        return text

    def to_csv(self, path: str | os.PathLike[str] | None = None, *,
               video_paths: Mapping[str, str] | None = None) -> str:
        """The table as CSV (one row per cell); also written to ``path`` if given.

        Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
        ``@``, a tab or a carriage return: a prompt, a note) is written with a leading ``'``,
        which spreadsheets show as text."""
        text = records_csv(self.to_records(video_paths))
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
        ranking: Any = None,
    ) -> pathlib.Path:
        """Write a self-contained report (see :func:`hh_notebook.report.export_report`);
        ``ranking=arena`` adds the blind ranking of :func:`hh_notebook.arena`'s votes."""
        return export_report(self, path, single_file=single_file, title=title, frames=frames,
                             ranking=ranking)

    def show(self, *, rating_scale: str = "stars") -> Any:
        """Display the comparison grid of this result (with its metrics, once measured) and
        return the widget."""
        if rating_scale not in ("stars", "thumbs"):
            raise ValueError("rating_scale must be 'stars' or 'thumbs'")
        return show_in_notebook(self, rating_scale=rating_scale)

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
