"""Clip metrics in the HTML report: metric columns in the table, a line of figures under each
clip, and a small inline script that sorts the table when a header is clicked (no network,
no library: the page stays one offline file).

Everything here returns HTML with every value escaped; the script only reorders rows and
reads ``data-value`` attributes and text, never HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from .metrics import ClipMetrics
from .metrics_columns import METRIC_COLUMNS, MetricColumn, badge_text, format_metric, json_number

__all__ = ["SORT_CSS", "SORT_SCRIPT", "metric_columns_in", "metrics_line", "sort_attributes",
           "td"]

#: Sorts the tbody of every ``table.sortable`` by the clicked header: numbers by their
#: ``data-value`` (empty cells last), other columns by text; a second click reverses.
SORT_SCRIPT = """<script>
document.querySelectorAll("table.sortable").forEach((table) => {
  const body = table.tBodies[0];
  table.querySelectorAll("th[data-sort]").forEach((th) => {
    th.tabIndex = 0;
    const sort = () => {
      const up = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach((o) => o.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      const i = th.cellIndex, num = th.dataset.sort === "num", sign = up ? 1 : -1;
      const key = (row) => {
        const td = row.cells[i];
        const v = td && td.dataset.value !== undefined ? td.dataset.value : (td ? td.textContent : "");
        return num ? (v === "" ? NaN : Number(v)) : v;
      };
      const rows = [...body.rows].map((row, n) => ({ row, n, k: key(row) }));
      rows.sort((a, b) => {
        if (num && (isNaN(a.k) || isNaN(b.k))) return isNaN(a.k) - isNaN(b.k) || a.n - b.n;
        const c = num ? a.k - b.k : String(a.k).localeCompare(String(b.k), undefined, { numeric: true });
        return sign * c || a.n - b.n;
      });
      body.append(...rows.map((r) => r.row));
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (e) => { if (e.key === "Enter") sort(); });
  });
});
</script>"""

SORT_CSS = """
table.sortable th[data-sort] { cursor: pointer; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: " \\25B2"; }
table.sortable th[aria-sort=descending]::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.cell .metrics { font-size: 11px; color: #555; font-variant-numeric: tabular-nums; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def metric_columns_in(records: Sequence[dict[str, Any]]) -> list[MetricColumn]:
    """The metric columns with a figure in at least one record (none before measuring)."""
    return [c for c in METRIC_COLUMNS if any(r.get(c.name) is not None for r in records)]


def sort_attributes(column: str, records: Sequence[dict[str, Any]]) -> str:
    """A header's ``data-sort``: "num" when every value of ``column`` is a number."""
    values = [r.get(column) for r in records if r.get(column) not in (None, "")]
    numeric = bool(values) and all(json_number(v) is not None for v in values)
    return f' data-sort="{"num" if numeric else "text"}"'


def td(value: Any, text: str, *, numeric: bool) -> str:
    """One table cell: ``text`` shown, and for numbers the raw value to sort by."""
    if numeric and json_number(value) is not None:
        return f'<td class="num" data-value="{_e(value)}">{_e(text)}</td>'
    return f"<td>{_e(text)}</td>"


def metric_header(column: MetricColumn) -> str:
    """The header of a metric column: its name and unit, the definition as tooltip."""
    unit = f" ({column.unit})" if column.unit else ""
    return (f'<th data-sort="num" title="{_e(column.description)}">'
            f"{_e(column.name)}{_e(unit)}</th>")


def metric_cell(column: MetricColumn, value: Any) -> str:
    """The cell of one figure, rounded, with the exact value to sort by."""
    return td(value, format_metric(column.name, value, unit=False), numeric=True)


def metrics_line(metrics: ClipMetrics | None) -> str:
    """The line of badge figures under a clip (motion, flicker, loudness, cuts), or ""."""
    if metrics is None:
        return ""
    if not metrics.ok:
        return f'<div class="metrics" title="{_e(metrics.error)}">not measured</div>'
    parts = [text for c in METRIC_COLUMNS if c.badge
             and (text := badge_text(c.name, getattr(metrics, c.name)))]
    return f'<div class="metrics">{_e(" · ".join(parts))}</div>' if parts else ""
