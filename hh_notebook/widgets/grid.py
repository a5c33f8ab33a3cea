"""The comparison grid: a sweep's clips side by side, played together, rated in place.

>>> sw = hh.sweep("a red fox in the snow", seed="1-3", aspect="16:9,9:16")   # doctest: +SKIP
>>> grid = sw.show()            # live: statuses first, then players     # doctest: +SKIP
>>> sw.start()                  # run in the background of the kernel      # doctest: +SKIP
>>> grid.set_layout(rows="aspect_ratio", columns="seed")  # swap, no re-run  # doctest: +SKIP
>>> compare(result_a, result_b, labels=("segmind", "hiapi"))  # cell by cell  # doctest: +SKIP

Rows, columns and pages come from the sweep's axes; one more axis can be shown *inside*
each cell (two sweeps or two providers side by side). The grid only shows what the sweep
knows: it subscribes to the sweep's progress and mirrors it into small synced traits.
Posters and clips never live in traits (a notebook executed headless would store them base64
in the file): the front end asks for a cell's poster, then its clip, only when the cell
scrolls into view, and the bytes travel as binary comm buffers. Ratings and notes go to the
journal through :meth:`~hh_notebook.sweep.Sweep.set_rating`. Clip metrics (motion, flicker,
loudness, cuts...) show as a badge row per clip; the grid ranks and filters clips by them
(:mod:`~hh_notebook.widgets.grid_metrics`). When blind votes on the sweep's
clips exist (:func:`hh_notebook.arena`), a panel under the grid shows their ranking and win
matrix (:meth:`SweepGrid.show_ranking`).
"""

from __future__ import annotations

import asyncio
import functools
import html
import pathlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import traitlets as t

from ..arena_items import sweep_arena_id
from ..media import poster_jpeg
from ..present import SANDBOX_LABEL, display_text, format_money
from ..sweep import Sweep, SweepProgress, SweepResult
from ..sweep.axes import AxisSpec
from ..sweep.plan import layout_of
from .arena import ranking_panel
from .assets import css, esm
from .grid_metrics import GridMetrics
from .output import SavedView

__all__ = ["SweepGrid", "compare"]

#: Clip bytes go out in chunks of this size (one comm message each).
CHUNK_BYTES = 2 * 1024 * 1024
#: Trait updates from a busy sweep are batched to at most one per this many seconds.
FLUSH_INTERVAL = 0.25
ROLES = ("rows", "columns", "pages", "inner")
#: Longest side of the poster frames sent to the grid (pixels).
POSTER_SIZE = 480


@dataclass(frozen=True)
class _Source:
    """One sweep shown in the grid, with the label of its side in a comparison."""

    sweep: Sweep
    label: str


class SweepGrid(GridMetrics, SavedView):
    """A grid of a sweep's cells (see the module docs). Build it with :meth:`from_sweep`,
    ``sweep.show()`` or :func:`compare`."""

    _esm = esm("grid_metrics.js", "grid.js")
    _css = css("grid.css")

    title = t.Unicode("").tag(sync=True)
    #: Parameters shared by every cell: label → text.
    fixed = t.Dict().tag(sync=True)
    #: [{"name": ..., "labels": [...]}], the grid's axes.
    axes = t.List(t.Dict()).tag(sync=True)
    #: {"rows": axis index or None, "columns": ..., "pages": ..., "inner": ...}
    layout = t.Dict().tag(sync=True)
    page = t.Int(0).tag(sync=True)
    #: One small dict per clip (no bytes): id, coords, status, progress, rating, note...
    cells = t.List(t.Dict()).tag(sync=True)
    progress_text = t.Unicode("").tag(sync=True)
    running = t.Bool(False).tag(sync=True)
    #: "stars" (1–5) or "thumbs" (+1 / −1).
    rating_scale = t.Unicode("stars").tag(sync=True)
    #: Last problem to show (a failed rating save…).
    message = t.Unicode("").tag(sync=True)
    #: A blind ranking of the clips (title, summary, rows, win-matrix SVG); {} for none.
    ranking = t.Dict().tag(sync=True)

    def __init__(self, sources: Sequence[_Source], axes: list[dict[str, Any]], **kwargs: Any):
        super().__init__(**kwargs)
        self._sources = list(sources)
        self.axes = axes
        self._posters: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._dirty: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = 0.0
        self._ranking_source: Any = None
        self._init_metrics()
        self._unsubscribe = [
            s.sweep.subscribe(functools.partial(self._on_sweep, i))
            for i, s in enumerate(self._sources)
        ]
        self.cells = [self._cell_dict(i, key) for i, key in self._all_cells()]
        self._refresh_progress()
        self.on_msg(self._on_front_end_message)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_sweep(cls, sweep: Sweep | SweepResult, **kwargs: Any) -> SweepGrid:
        """The grid of one sweep (a :class:`SweepResult` shows its sweep)."""
        sw = _as_sweep(sweep)
        axes = [{"name": a.name, "labels": list(a.labels)} for a in sw.axes]
        source = _Source(sw, sw.id)
        grid = cls([source], axes, **kwargs)
        grid.title = kwargs.get("title") or f"Sweep {sw.id}: {sw.size} clips"
        grid.fixed = {k: display_text(v) for k, v in sw.fixed.items() if v is not None}
        grid.layout = _default_layout(sw.axes)
        grid._ranking_source = sw
        if isinstance(sweep, SweepResult):
            grid.show_metrics(0, sweep)
        if sw.client.journal.votes(sweep_arena_id(sw.id)):
            grid._refresh_ranking()
        return grid

    def _all_cells(self) -> list[tuple[int, str]]:
        return [(i, c.key) for i, s in enumerate(self._sources) for c in s.sweep.cells]

    # -- layout -------------------------------------------------------------------------------
    def set_layout(
        self,
        rows: str | None = None,
        columns: str | None = None,
        pages: str | None = None,
        inner: str | None = None,
    ) -> None:
        """Place axes by name on rows, columns, pages or inside each cell; no re-run.

        Axes not named keep their role when it is still free, else take a free one.
        """
        names = [a["name"] for a in self.axes]
        wanted = {"rows": rows, "columns": columns, "pages": pages, "inner": inner}
        layout: dict[str, int | None] = {role: None for role in ROLES}
        for role, name in wanted.items():
            if name is None:
                continue
            if name not in names:
                raise ValueError(f"no axis {name!r} in this grid (axes: {', '.join(names)})")
            layout[role] = names.index(name)
        placed = {v for v in layout.values() if v is not None}
        if len(placed) != len([v for v in wanted.values() if v is not None]):
            raise ValueError("each axis can have only one place")
        for index in range(len(names)):
            if index in placed:
                continue
            old = next((r for r, v in self.layout.items() if v == index), None)
            free = old if old is not None and layout.get(old) is None else None
            layout[free or next(r for r in ROLES if layout[r] is None)] = index
        self.layout = layout
        self.page = 0

    def swap_axes(self) -> None:
        """Exchange rows and columns."""
        layout = dict(self.layout)
        layout["rows"], layout["columns"] = layout.get("columns"), layout.get("rows")
        self.layout = layout

    # -- live updates -------------------------------------------------------------------------
    def _on_sweep(self, source: int, _progress: SweepProgress, key: str | None) -> None:
        with self._lock:
            if key is None:
                self._dirty.update(f"{source}:{c.key}" for c in self._sources[source].sweep.cells)
            else:
                self._dirty.add(f"{source}:{key}")
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._flush_handle is not None:
            return
        delay = max(0.0, FLUSH_INTERVAL - (time.monotonic() - self._last_flush))
        self._flush_handle = loop.call_later(delay, self.flush)

    def flush(self) -> None:
        """Send pending cell changes to the front end now."""
        self._flush_handle = None
        self._last_flush = time.monotonic()
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        if dirty:
            cells = list(self.cells)
            index = {c["id"]: n for n, c in enumerate(cells)}
            for cell_id in dirty:
                source, _, key = cell_id.partition(":")
                if cell_id in index:
                    cells[index[cell_id]] = self._cell_dict(int(source), key)
            self.cells = cells
        self._refresh_progress()

    def _refresh_progress(self) -> None:
        texts = []
        running = False
        for source in self._sources:
            progress = source.sweep.progress
            running = running or progress.running > 0 or progress.queued > 0
            prefix = f"{source.label}: " if len(self._sources) > 1 else ""
            texts.append(prefix + str(progress))
        self.progress_text = " | ".join(texts)
        self.running = running

    def _cell_dict(self, source: int, key: str) -> dict[str, Any]:
        src = self._sources[source]
        sweep = src.sweep
        cell = sweep.cell(key)
        state = sweep.cell_state(key)
        if len(self._sources) == 1:
            coords = list(cell.coords)
        else:  # compare: merged axes matched by label, the last axis is the side
            coords = [
                axis["labels"].index(cell.labels[axis["name"]])
                if axis["name"] in cell.labels
                else 0
                for axis in self.axes
            ]
            coords[-1] = source
        record = sweep.journal_record(key) if state["job_id"] else None
        path = state["video_path"]
        has_clip = bool(state["status"] == "succeeded" and path and pathlib.Path(path).is_file())
        return {
            "id": f"{source}:{key}",
            "coords": coords,
            "labels": dict(cell.labels),
            "status": state["status"],
            "progress": state["progress"],
            "error": state["error"] or "",
            "from_cache": bool(state["from_cache"]),
            "cost": _cost_text(state["cost"], state["currency"], state["from_cache"],
                               state.get("sandbox", False)),
            "job_id": state["job_id"] or "",
            "has_clip": has_clip,
            "clip_name": pathlib.Path(path).name if has_clip else "",
            "rating": getattr(record, "rating", None),
            "note": getattr(record, "note", None) or "",
            "source": src.label,
        }

    # -- messages from the front end -----------------------------------------------------------
    def _on_front_end_message(self, _widget: Any, content: Any, _buffers: list[Any]) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        cell_id = str(content.get("id", ""))
        if kind == "poster":
            self.send_poster(cell_id)
        elif kind == "clip":
            self.send_clip(cell_id)
        elif kind == "rate":
            self.rate(cell_id, content.get("rating"), content.get("note"))
        elif kind == "stop":
            for source in self._sources:
                source.sweep.stop()
        elif kind == "ranking":
            self._refresh_ranking()
        elif kind == "measure":
            self.measure()

    def _locate(self, cell_id: str) -> tuple[Sweep, str]:
        source, _, key = cell_id.partition(":")
        return self._sources[int(source)].sweep, key

    def _clip_path(self, cell_id: str) -> pathlib.Path | None:
        try:
            sweep, key = self._locate(cell_id)
            path = sweep.cell_state(key)["video_path"]
        except (KeyError, ValueError, IndexError):
            return None
        return pathlib.Path(path) if path and pathlib.Path(path).is_file() else None

    def send_poster(self, cell_id: str) -> None:
        """Send the cell's poster frame (JPEG) as a binary buffer."""
        path = self._clip_path(cell_id)
        if path is None:
            self.send({"type": "poster_error", "id": cell_id})
            return
        if cell_id not in self._posters:
            try:
                self._posters[cell_id] = _small_poster(path)
            except Exception:  # noqa: BLE001 - a clip without a decodable frame: no poster
                self.send({"type": "poster_error", "id": cell_id})
                return
        self.send({"type": "poster", "id": cell_id, "mime": "image/jpeg"},
                  buffers=[self._posters[cell_id]])  # fmt: skip

    def send_clip(self, cell_id: str) -> None:
        """Send the cell's clip as binary buffers, in chunks."""
        path = self._clip_path(cell_id)
        if path is None:
            self.send({"type": "clip_error", "id": cell_id, "message": "no clip for this cell"})
            return
        data = path.read_bytes()
        count = max(1, -(-len(data) // CHUNK_BYTES))
        for index in range(count):
            chunk = data[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
            msg = {"type": "clip", "id": cell_id, "index": index, "count": count,
                   "mime": "video/mp4", "size": len(data)}  # fmt: skip
            self.send(msg, buffers=[chunk])

    def rate(self, cell_id: str, rating: Any, note: Any = None) -> None:
        """Save a rating and note for a cell (journal) and show it."""
        sweep, key = self._locate(cell_id)
        value = None if rating in (None, "", 0) else int(rating)
        text = None if note in (None, "") else str(note)
        try:
            sweep.set_rating(key, value, text)
        except Exception as exc:  # noqa: BLE001 - shown in the grid in plain words
            self.message = f"Could not save the rating: {exc}"
            return
        self.message = ""
        with self._lock:
            self._dirty.add(cell_id)
        self.flush()

    # -- blind ranking (hh.arena) --------------------------------------------------------------
    def show_ranking(self, arena: Any = None) -> None:
        """Show a blind ranking under the grid: ``arena``'s (an :func:`hh_notebook.arena`
        widget, e.g. one ranking prompt variants), or by default the ranking of this sweep's
        clips from the votes in the journal. The panel's ↻ button fits the votes again."""
        self._ranking_source = arena if arena is not None else self._sources[0].sweep
        self.ranking = ranking_panel(self._ranking_source)

    def _refresh_ranking(self) -> None:
        if self._ranking_source is None:
            return
        try:
            self.ranking = ranking_panel(self._ranking_source)
        except (ValueError, ImportError) as exc:  # too few clips yet, or no evalica
            self.message = f"No blind ranking: {exc}"

    # -- display ------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop following the sweeps and close the widget."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        super().close()

    def static_html(self) -> str:
        """A plain HTML table of the grid's labels and statuses (for exports without widgets)."""
        rows = []
        names = [a["name"] for a in self.axes]
        for cell in self.cells:
            labels = ", ".join(
                f"{html.escape(str(n))}={html.escape(str(cell['labels'].get(n, '')))}"
                for n in names if n in cell["labels"]
            )  # fmt: skip
            rows.append(
                f"<tr><td>{labels}</td><td>{html.escape(cell['status'])}</td>"
                f"<td>{html.escape(cell['cost'])}</td></tr>"
            )
        fixed = ", ".join(
            f"{html.escape(str(k))}={html.escape(str(v))}" for k, v in self.fixed.items()
        )
        return (
            f"<div class='hh-grid-static'><b>{html.escape(self.title)}</b>"
            f"<div>{fixed}</div><div>{html.escape(self.progress_text)}</div>"
            "<table><tr><th>cell</th><th>status</th><th>cost</th></tr>"
            + "".join(rows)
            + "</table></div>"
        )


def compare(
    a: Sweep | SweepResult,
    b: Sweep | SweepResult,
    *,
    labels: tuple[str, str] | None = None,
    **kwargs: Any,
) -> SweepGrid:
    """Two sweeps over the same axes, cell by cell: each grid cell shows both clips.

    Axes are matched by name and values by label (a value only one sweep has gets its own
    row/column, with the other side empty). The sweeps' own ids label the two sides unless
    ``labels`` is given.
    """
    sa, sb = _as_sweep(a), _as_sweep(b)
    names_a = [x.name for x in sa.axes]
    names_b = [x.name for x in sb.axes]
    if sorted(names_a) != sorted(names_b):
        raise ValueError(f"cannot compare sweeps over different axes: {names_a} vs {names_b}")
    if len(names_a) > 3:
        raise ValueError("compare needs sweeps of at most three axes")
    side = labels or (sa.id, sb.id)
    axes: list[dict[str, Any]] = [{"name": x.name, "labels": list(x.labels)} for x in sa.axes]
    for x in sb.axes:
        grid_axis = axes[names_a.index(x.name)]
        grid_axis["labels"] += [lab for lab in x.labels if lab not in grid_axis["labels"]]
    axes.append({"name": "sweep", "labels": [str(side[0]), str(side[1])]})
    sources = [_Source(sa, str(side[0])), _Source(sb, str(side[1]))]
    grid = SweepGrid(sources, axes, **kwargs)
    grid.title = f"{side[0]} vs {side[1]}"
    fixed_a, fixed_b = sa.fixed, sb.fixed
    grid.fixed = {
        k: display_text(v)
        if fixed_b.get(k) == v
        else f"{display_text(v)} | {display_text(fixed_b.get(k))}"
        for k, v in fixed_a.items()
        if v is not None or fixed_b.get(k) is not None
    }
    layout = _default_layout(sa.axes)
    layout["inner"] = len(axes) - 1
    grid.layout = layout
    for index, side_result in enumerate((a, b)):
        if isinstance(side_result, SweepResult):
            grid.show_metrics(index, side_result)
    return grid


def _small_poster(path: pathlib.Path) -> bytes:
    """The clip's first frame as a small JPEG (a grid cell is a few hundred pixels wide)."""
    return poster_jpeg(path, at=0.0, box=POSTER_SIZE, quality=80)


def _default_layout(axes: Sequence[AxisSpec]) -> dict[str, int | None]:
    """The sweep's own placement of ``axes`` (:func:`~hh_notebook.sweep.plan.layout_of`),
    nothing inside the cells."""
    rows, columns, pages = layout_of(axes)
    return {"rows": rows, "columns": columns, "pages": pages, "inner": None}


def _as_sweep(value: Any) -> Sweep:
    return value.sweep if hasattr(value, "rows") and hasattr(value, "sweep") else value


def _cost_text(cost: float | None, currency: str | None, from_cache: bool,
               sandbox: bool = False) -> str:
    if from_cache:
        return "$0 (journal)"
    if sandbox and cost is not None:
        return SANDBOX_LABEL
    if cost is None:
        return ""
    return format_money(cost, currency or "USD")
