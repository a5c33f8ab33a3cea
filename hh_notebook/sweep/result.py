"""A sweep's result: one row per cell with everything known about it, and its exports
(pandas, records, JSON, CSV, a self-contained report)."""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import catalog
from .._version import __version__
from ..report import export_report
from ..request import GenerationRequest
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
        ranking: Any = None,
    ) -> pathlib.Path:
        """Write a self-contained report (see :func:`hh_notebook.report.export_report`);
        ``ranking=arena`` adds the blind ranking of :func:`hh_notebook.arena`'s votes."""
        return export_report(self, path, single_file=single_file, title=title, frames=frames,
                             ranking=ranking)

    def show(self, *, rating_scale: str = "stars") -> Any:
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
