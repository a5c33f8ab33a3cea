"""Clip metrics in the comparison grid: the synced traits, measuring in the background, and
the small JSON view of each clip's figures that the front end sorts, filters and badges by.

:class:`GridMetrics` is a part of :class:`~hh_notebook.widgets.grid.SweepGrid` (a mixin):

>>> grid = result.show()                        # doctest: +SKIP
>>> grid.measure()          # the "Measure" button: figures fill in as they come   # doctest: +SKIP
>>> grid.sort("motion_px")  # ranked, most motion first; grid.sort(None) for axes order  # doctest: +SKIP
>>> grid.filter(sound="hide silent", metric="flicker", op="<=", value=0.1)   # doctest: +SKIP

Figures come from :meth:`hh_notebook.sweep.SweepResult.measure` (cached in the journal, so
nothing is measured twice); the work runs in a thread and worker processes, never on the
kernel's event loop, and each clip's figures are sent to the page as they arrive.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import traitlets as t

from ..metrics import ClipMetrics, missing_packages
from ..metrics_columns import METRIC_COLUMNS, badge_text, column, is_silent, json_number
from ..runtime import spawn

if TYPE_CHECKING:  # pragma: no cover
    from ..sweep import SweepResult, SweepRow

__all__ = ["SOUND_FILTERS", "GridMetrics", "cell_metrics", "column_specs"]

#: The sound filter's choices (value → what the menu says).
SOUND_FILTERS = {"all": "all clips", "silent": "silent only", "audible": "hide silent"}
#: Figures arriving while measuring are sent to the page at most this often (seconds).
SEND_INTERVAL = 0.25
_NO_FILTER: dict[str, Any] = {"sound": "all", "metric": "", "op": ">=", "value": None}


def column_specs() -> list[dict[str, Any]]:
    """Every metric column for the page: name, label, unit, tooltip, and whether it badges."""
    return [{"name": c.name, "label": c.label, "unit": c.unit, "badge": bool(c.badge),
             "title": f"{c.label}{f' ({c.unit})' if c.unit else ''}: {c.description}"}
            for c in METRIC_COLUMNS]


def cell_metrics(metrics: ClipMetrics) -> dict[str, Any]:
    """One clip's figures for the page: JSON-safe numbers (NaN → null), badge texts, silence.

    >>> view = cell_metrics(ClipMetrics("a.mp4", "ab", cuts=1, flicker=float("nan")))
    >>> view["values"]["cuts"], view["values"]["flicker"], view["texts"]["cuts"]
    (1, None, '1 cuts')
    """
    return {
        "values": {c.name: json_number(getattr(metrics, c.name)) for c in METRIC_COLUMNS},
        "texts": {c.name: badge_text(c.name, getattr(metrics, c.name)) for c in METRIC_COLUMNS},
        "silent": bool(metrics.ok and is_silent(metrics)),
        "error": metrics.error or "",
    }


class GridMetrics(t.HasTraits):
    """The metric traits and actions of the grid (see the module docs)."""

    if TYPE_CHECKING:  # provided by SweepGrid
        _sources: list[Any]
        message: str

    #: Every metric the page can sort and filter by (see :func:`column_specs`).
    metric_columns = t.List(t.Dict()).tag(sync=True)
    #: Cell id → :func:`cell_metrics` of its clip, for the clips measured so far.
    metrics = t.Dict().tag(sync=True)
    #: Whether the ``metrics`` extra is installed (the page offers "Measure" only then).
    can_measure = t.Bool(False).tag(sync=True)
    #: Progress while measuring ("" when not).
    measuring = t.Unicode("").tag(sync=True)
    #: The metric the cells are ranked by; "" keeps the axes' order.
    sort_by = t.Unicode("").tag(sync=True)
    sort_descending = t.Bool(True).tag(sync=True)
    #: {"sound": "all"|"silent"|"audible", "metric": name or "", "op": ">="|"<=", "value": x}
    metric_filter = t.Dict(dict(_NO_FILTER)).tag(sync=True)

    def _init_metrics(self) -> None:
        self.metric_columns = column_specs()
        self.can_measure = not missing_packages()
        self._metric_queue: dict[str, dict[str, Any]] = {}
        self._send_handle: asyncio.TimerHandle | None = None
        self._measure_task: Any = None

    def show_metrics(self, source: int, result: SweepResult) -> None:
        """Show the figures ``result`` already has (after its :meth:`measure`) in the cells of
        source ``source`` (0, or 1 for the second sweep of a comparison)."""
        found = {f"{source}:{row.key}": cell_metrics(row.metrics)
                 for row in result.rows if row.metrics is not None}
        if found:
            self.metrics = {**self.metrics, **found}

    # -- measuring -----------------------------------------------------------------------------
    def measure(self, workers: int | None = None) -> Any:
        """Measure every clip of the grid's sweeps in the background (worker processes, the
        journal as cache) and fill in the badges as figures arrive; returns the task (None
        outside a running event loop, where it has finished already)."""
        if self._measure_task is not None and not self._measure_task.done():
            return self._measure_task
        missing = missing_packages()
        if missing:
            self.message = (f"Clip metrics need {', '.join(missing)}: "
                            "pip install 'hh_notebook[metrics]'")
            return None
        self._measure_task = spawn(self._measure(workers))
        return self._measure_task

    async def _measure(self, workers: int | None) -> None:
        loop = asyncio.get_running_loop()
        results = [source.sweep.result() for source in self._sources]
        total = sum(1 for r in results for row in r.rows if row.has_clip)
        done = [0]

        def arrived(source: int, row: SweepRow) -> None:
            done[0] += 1
            if row.metrics is not None:
                loop.call_soon_threadsafe(self._metric_arrived, f"{source}:{row.key}",
                                          cell_metrics(row.metrics), done[0], total)

        def work() -> None:
            for index, result in enumerate(results):
                result.measure(workers, on_result=lambda row, i=index: arrived(i, row))

        self.measuring = f"measuring {total} clips…"
        self.message = ""
        try:
            await asyncio.to_thread(work)
        except Exception as exc:  # noqa: BLE001 - shown in the grid in plain words
            self.message = f"Could not measure the clips: {exc}"
        finally:
            self._send_metrics()
            self.measuring = ""

    def _metric_arrived(self, cell_id: str, view: dict[str, Any], done: int, total: int) -> None:
        self._metric_queue[cell_id] = view
        self.measuring = f"measured {done}/{total}…"
        if self._send_handle is None:
            loop = asyncio.get_running_loop()
            self._send_handle = loop.call_later(SEND_INTERVAL, self._send_metrics)

    def _send_metrics(self) -> None:
        if self._send_handle is not None:
            self._send_handle.cancel()
            self._send_handle = None
        queued, self._metric_queue = self._metric_queue, {}
        if queued:
            self.metrics = {**self.metrics, **queued}

    # -- sorting and filtering -----------------------------------------------------------------
    def sort(self, by: str | None, *, descending: bool = True) -> None:
        """Rank the cells by metric ``by`` (a column of docs/METRICS.md, e.g. ``"motion_px"``),
        highest first unless ``descending=False``; ``None`` goes back to the axes' order.
        Clips without that figure come last."""
        if by is not None:
            column(by)  # KeyError naming the known metrics
        self.sort_descending = descending
        self.sort_by = by or ""

    def filter(self, *, sound: str = "all", metric: str | None = None, op: str = ">=",
               value: float | None = None) -> None:
        """Show only some clips: ``sound`` is ``"all"``, ``"silent"`` (silent only) or
        ``"audible"`` (hide silent; ``"hide silent"`` and ``"silent only"`` work too), and
        ``metric`` ``op`` (``">="`` or ``"<="``) ``value`` keeps clips whose figure passes.
        ``grid.filter()`` shows every clip again."""
        names = {**{k: k for k in SOUND_FILTERS}, **{v: k for k, v in SOUND_FILTERS.items()}}
        if sound not in names:
            raise ValueError(f"sound must be one of {', '.join(SOUND_FILTERS)}")
        if op not in (">=", "<="):
            raise ValueError("op must be '>=' or '<='")
        if metric is not None:
            column(metric)
        self.metric_filter = {"sound": names[sound], "metric": metric or "", "op": op,
                              "value": json_number(value)}
