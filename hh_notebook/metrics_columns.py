"""Clip metrics as table columns: names, units, tooltips and text, shared by every view.

Sweep exports, the grid's badges, the report's columns and ``%happyhorse show`` all read
:data:`METRIC_COLUMNS`, so a figure is named, rounded and explained the same way
everywhere. Pure data and formatting: nothing here measures anything.

>>> from hh_notebook.metrics import ClipMetrics
>>> m = ClipMetrics("a.mp4", "ab", motion_px=0.2371, cuts=2, lufs=-21.04, has_audio=True)
>>> format_metric("motion_px", m.motion_px), badge_text("lufs", m.lufs)
('0.24 px/frame', '-21.0 LUFS')
>>> metrics_record(m)["motion_px"], metrics_record(None)["motion_px"]
(0.2371, None)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hh_notebook.metrics import ClipMetrics

__all__ = [
    "METRIC_COLUMNS",
    "RECORD_KEYS",
    "SILENT_SHARE",
    "MetricColumn",
    "badge_text",
    "column",
    "format_metric",
    "is_silent",
    "json_number",
    "metrics_record",
]

#: A clip counts as silent when at least this share of its 50 ms windows is below -60 dBFS.
SILENT_SHARE = 0.9


@dataclass(frozen=True)
class MetricColumn:
    """One figure of :class:`~hh_notebook.metrics.ClipMetrics` as a column."""

    name: str
    """The ``ClipMetrics`` field and the record key."""
    label: str
    """Short name for menus and headers."""
    unit: str
    """Unit written after the number ("" for a count or a plain ratio)."""
    description: str
    """One sentence for tooltips (docs/METRICS.md has the full definition)."""
    digits: int
    """Decimals shown."""
    badge: str = ""
    """The grid badge's text with ``{}`` for the number; "" for no badge."""


METRIC_COLUMNS: tuple[MetricColumn, ...] = (
    MetricColumn("motion_px", "motion", "px/frame",
                 "Mean optical-flow magnitude, pixels per frame at 256 px wide", 2,
                 "motion {} px/f"),
    MetricColumn("dynamic_degree", "dynamic degree", "",
                 "Share (0-1) of frame pairs with clearly moving parts", 2),
    MetricColumn("flicker", "flicker", "luma/frame",
                 "Frame-to-frame brightness change once motion is undone, 8-bit luma levels",
                 2, "flicker {}"),
    MetricColumn("sharpness", "sharpness", "grey²",
                 "Median variance of the Laplacian at 640 px wide (compare like with like)", 0),
    MetricColumn("cuts", "cuts", "", "Hard scene cuts found (scenedetect ContentDetector)", 0,
                 "{} cuts"),
    MetricColumn("lufs", "loudness", "LUFS",
                 "Integrated loudness, ITU-R BS.1770 (-70 for silence)", 1, "{} LUFS"),
    MetricColumn("peak_dbfs", "peak", "dBFS", "Sample peak level (0 = full scale)", 1),
    MetricColumn("silence_share", "silence", "",
                 "Share (0-1) of 50 ms windows below -60 dBFS", 2),
    MetricColumn("av_sync_lag_ms", "A/V lag", "ms",
                 "PROXY: lag where sound onsets best follow motion (+ = sound later)", 0),
    MetricColumn("av_sync_corr", "A/V corr", "",
                 "PROXY: correlation (-1..1) at that lag; near 0 the lag means little", 2),
)

_RENAMED = {"error": "metrics_error", "version": "metrics_version"}


def _record(metrics: ClipMetrics) -> dict[str, Any]:
    data = metrics.to_dict()
    data.pop("path", None)  # rows have their own video_path
    return {_RENAMED.get(key, key): value for key, value in data.items()}


#: The keys :func:`metrics_record` adds to a table row, in order.
RECORD_KEYS: tuple[str, ...] = tuple(_record(ClipMetrics("", None)))


def column(name: str) -> MetricColumn:
    """The column named ``name``; KeyError naming the known ones otherwise."""
    for spec in METRIC_COLUMNS:
        if spec.name == name:
            return spec
    raise KeyError(f"no metric {name!r}; known: {', '.join(c.name for c in METRIC_COLUMNS)}")


def json_number(value: Any) -> float | int | None:
    """``value`` as a JSON-safe number: NaN, infinities and non-numbers become None.

    >>> json_number(float("nan")), json_number(3), json_number(True), json_number("x")
    (None, 3, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(name: str, value: Any) -> str:
    number = json_number(value)
    if number is None:
        return ""
    digits = column(name).digits
    return str(round(number)) if digits == 0 else f"{number:.{digits}f}"


def format_metric(name: str, value: Any, *, unit: bool = True) -> str:
    """``value`` of metric ``name`` rounded, with its unit unless ``unit=False``; "" when
    unknown."""
    text = _number(name, value)
    suffix = column(name).unit if unit else ""
    return f"{text} {suffix}" if text and suffix else text


def badge_text(name: str, value: Any) -> str:
    """The compact text of a grid badge (e.g. ``"motion 0.24 px/f"``); "" when unknown."""
    text = _number(name, value)
    template = column(name).badge or f"{column(name).label} {{}}"
    return template.format(text) if text else ""


def is_silent(metrics: ClipMetrics) -> bool:
    """True for a clip with no audio stream, or whose sound is mostly below -60 dBFS."""
    if metrics.has_audio is False:
        return True
    return metrics.silence_share is not None and metrics.silence_share >= SILENT_SHARE


def metrics_record(metrics: ClipMetrics | None) -> dict[str, Any]:
    """The columns a measured clip adds to a table row (all None for a clip not measured)."""
    return dict.fromkeys(RECORD_KEYS) if metrics is None else _record(metrics)
