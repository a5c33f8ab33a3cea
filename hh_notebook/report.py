"""Self-contained HTML reports of a sweep.

>>> result = hh.sweep("a fox at dawn", seed="1-4").run()     # doctest: +SKIP
>>> export_report(result, "fox-report")                       # doctest: +SKIP
PosixPath('fox-report/index.html')

The folder holds ``index.html`` (opens from disk, no network: no scripts or fonts from
elsewhere), ``clips/``, ``posters/``, ``sheets/`` (a contact sheet PNG per clip, a strip of
frames for print), ``requests/`` (the exact request of every clip as JSON, enough to
regenerate it) and ``results.csv`` / ``results.json``. The page shows the fixed parameters,
the grid of clips labelled by axis values, and a table with every parameter, cost, timing,
rating and note; once the result is measured (``result.measure()``), a line of clip metrics
under each clip and one sortable column per metric (a click on any header sorts the table, by
a few lines of inline script). All user text is escaped. Given a blind ranking (``ranking=``, e.g. the
:func:`hh_notebook.arena` widget of the same sweep), the page also shows it: a table with
intervals and the win matrix as an inline SVG heatmap.

``single_file=True`` writes one HTML file with clips, posters and sheets embedded as
``data:`` URLs instead (easy to send, heavy to open): a :class:`ReportSizeWarning` is issued
above :data:`SINGLE_FILE_WARN_BYTES`.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import pathlib
import shutil
import time
import warnings
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .media import contact_sheet, poster_frame
from .present import SANDBOX_LABEL, display_text, format_money
from .ranking_html import RankingView
from .report_metrics import (
    SORT_CSS,
    SORT_SCRIPT,
    metric_cell,
    metric_columns_in,
    metric_header,
    metrics_line,
    sort_attributes,
)

if TYPE_CHECKING:  # pragma: no cover
    from .sweep import SweepResult, SweepRow

__all__ = ["SINGLE_FILE_WARN_BYTES", "ReportSizeWarning", "export_report", "records_csv"]

#: Single-file reports above this size trigger a :class:`ReportSizeWarning`.
SINGLE_FILE_WARN_BYTES = 50 * 1024 * 1024
#: Up to this many clips the page preloads them fully; above, metadata only.
PRELOAD_ALL_LIMIT = 60
#: Row statuses that come with a clip: a job's, or a storyboard's stitched scene.
CLIP_STATUSES = ("succeeded", "stitched")


class ReportSizeWarning(UserWarning):
    """A single-file report is large (every clip is embedded in the HTML)."""


def export_report(
    result: SweepResult,
    path: str | os.PathLike[str],
    *,
    single_file: bool = False,
    title: str | None = None,
    frames: int = 8,
    ranking: Any = None,
) -> pathlib.Path:
    """Write the report of ``result`` and return the path of its HTML file.

    ``path`` is a folder (created; existing report files in it are replaced), or with
    ``single_file=True`` the ``.html`` file to write. ``frames`` is the number of frames in
    each contact sheet. ``ranking`` adds a blind-ranking section: a
    :class:`~hh_notebook.ranking_html.RankingView`, or anything with a ``ranking_view()``
    method (an arena); nothing is added while it has no votes.
    """
    target = pathlib.Path(path)
    if single_file:
        out_file = target if target.suffix.lower() in (".html", ".htm") else target / "index.html"
        out_file.parent.mkdir(parents=True, exist_ok=True)
        assets: _FolderAssets | _EmbeddedAssets = _EmbeddedAssets()
    else:
        target.mkdir(parents=True, exist_ok=True)
        out_file = target / "index.html"
        assets = _FolderAssets(target)
    rows = result.rows
    media = [_media_for(row, assets, frames) for row in rows]
    page = _page(result, rows, media, title or f"Sweep {result.sweep_id}", __version__,
                 _ranking_section(ranking))
    out_file.write_text(page, encoding="utf-8")
    if not single_file:
        # The tables point at the report's own copies, relative to the report: the folder
        # can be moved or sent, and a spreadsheet opened from it finds the clips.
        copies = {row.key: urls["clip"] for row, urls in zip(rows, media) if "clip" in urls}
        result.to_csv(target / "results.csv", video_paths=copies)
        result.to_json(target / "results.json", video_paths=copies)
    else:
        size = out_file.stat().st_size
        if size > SINGLE_FILE_WARN_BYTES:
            warnings.warn(
                f"the single-file report {out_file} is {size / 1e6:.0f} MB (every clip is "
                "embedded); browsers may be slow to open it. The folder form links the clips "
                "instead.",
                ReportSizeWarning,
                stacklevel=2,
            )
    return out_file


def records_csv(records: list[dict[str, Any]]) -> str:
    """Table rows as CSV (the union of their keys as columns). Text a spreadsheet would run
    as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: a
    prompt, a note) gets a leading ``'``, which spreadsheets show as text.

    >>> print(records_csv([{"prompt": "=1+1", "seed": 3}]), end="")
    prompt,seed
    '=1+1,3
    """
    names: list[str] = []
    for record in records:
        names += [k for k in record if k not in names]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: _csv_cell(v) for k, v in record.items()})
    return buf.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


# -------------------------------------------------------------------------------- assets


class _FolderAssets:
    """Files next to index.html, linked by relative URL."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root

    def put(self, kind: str, name: str, data: bytes, mime: str) -> str:
        folder = self.root / kind
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(data)
        return f"{kind}/{name}"

    def copy(self, kind: str, name: str, source: pathlib.Path, mime: str) -> str:
        folder = self.root / kind
        folder.mkdir(exist_ok=True)
        dest = folder / name
        if dest.resolve() != source.resolve():
            shutil.copyfile(source, dest)
        return f"{kind}/{name}"


class _EmbeddedAssets:
    """Everything inside the HTML as data: URLs."""

    def put(self, kind: str, name: str, data: bytes, mime: str) -> str:
        return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")

    def copy(self, kind: str, name: str, source: pathlib.Path, mime: str) -> str:
        return self.put(kind, name, source.read_bytes(), mime)


def _media_for(
    row: SweepRow, assets: _FolderAssets | _EmbeddedAssets, frames: int
) -> dict[str, str]:
    stem = f"cell-{row.key}"
    urls = {
        "request": assets.put(
            "requests", f"{stem}.json", _request_json(row).encode("utf-8"), "application/json"
        )
    }
    path = row.video_path
    if row.status not in CLIP_STATUSES or path is None or not pathlib.Path(path).is_file():
        return urls
    path = pathlib.Path(path)
    urls["clip"] = assets.copy("clips", f"{stem}.mp4", path, "video/mp4")
    try:
        urls["poster"] = assets.put("posters", f"{stem}.jpg", poster_frame(path, 0.0), "image/jpeg")
        urls["sheet"] = assets.put(
            "sheets", f"{stem}.png", contact_sheet(path, n=frames), "image/png"
        )
    except Exception as exc:  # noqa: BLE001 - a clip whose frames cannot be read keeps its link
        urls["frames_error"] = str(exc)
    return urls


def _request_json(row: SweepRow) -> str:
    request = row.request.to_dict()
    # The version the clip was made with (the provider's default when none was asked for).
    request["model"] = request.get("model") or getattr(row, "params", {}).get("model")
    return json.dumps(
        {"provider": row.provider, "job_id": row.job_id, "request": request},
        indent=2,
        ensure_ascii=False,
    )


# -------------------------------------------------------------------------------- page

_CSS = """
body { font-family: system-ui, sans-serif; margin: 16px; color: #1f1f1f; }
h1 { font-size: 20px; margin: 0 0 6px; }
.meta, .fixed { color: #555; margin: 4px 0; }
.fixed span { margin-right: 14px; overflow-wrap: anywhere; }
.page-title { font-size: 16px; margin: 18px 0 6px; }
.grid { display: grid; gap: 8px; align-items: start; }
.head { font-weight: 600; overflow-wrap: anywhere; padding: 2px 4px; }
.col { text-align: center; align-self: end; }
.cell { border: 1px solid #ccc; border-radius: 4px; padding: 4px; min-width: 0; }
.cell video { width: 100%; max-height: 360px; display: block; background: #000; }
.cell img { width: 100%; display: block; }
.cell .status { font-size: 12px; color: #555; overflow-wrap: anywhere; }
.cell .failed { color: #b00020; }
.sheet { margin-top: 4px; }
.note { font-size: 12px; font-style: italic; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin-top: 18px; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
td.prompt { min-width: 180px; max-width: 320px; overflow-wrap: anywhere; }
details pre { white-space: pre-wrap; max-width: 480px; font-size: 11px; }
@media print { video { display: none; } .sheet img { width: 100%; } }
.hh-ranking h2 { font-size: 16px; margin: 18px 0 4px; }
.hh-ranking table { margin: 6px 0; }
.hh-ranking td.num { text-align: right; font-variant-numeric: tabular-nums; }
.hh-ranking td.label { max-width: 360px; overflow-wrap: anywhere; }
""" + SORT_CSS

_TABLE_COLUMNS = (
    "cell", "provider", "model", "mode", "prompt", "negative_prompt", "image",
    "reference_images", "resolution", "duration", "aspect_ratio", "seed", "prompt_extend",
    "watermark", "status", "from_cache", "cost", "elapsed_s", "rating", "note",
    "error",
)  # fmt: skip


def _e(value: Any) -> str:
    return html.escape(display_text(value), quote=True)


def _cost_text(record: dict[str, Any]) -> str:
    if record.get("from_cache"):
        return "$0 (journal)"
    if record.get("sandbox") and record.get("status") == "succeeded":
        return SANDBOX_LABEL
    cost = record.get("cost")
    if cost is None:
        return "price not published" if record.get("status") == "succeeded" else ""
    return format_money(cost, record.get("currency") or "USD")


def _total_text(result: SweepResult) -> str:
    totals: dict[str, float] = {}
    unpriced = sandbox = 0
    for record in result.to_records():
        if record.get("from_cache") or record.get("status") != "succeeded":
            continue
        if record.get("sandbox") or record.get("cost") is None:
            sandbox += bool(record.get("sandbox"))
            unpriced += not record.get("sandbox")
            continue
        currency = record.get("currency") or "USD"
        totals[currency] = totals.get(currency, 0.0) + float(record["cost"])
    parts = [format_money(v, c) for c, v in totals.items()]
    text = " + ".join(parts) or "$0.00"
    if unpriced:
        text += f" + {unpriced} clip(s) without a published price"
    if sandbox:
        text += f" · {sandbox} sandbox clip(s) — not paid"
    return text


def _ranking_section(ranking: Any) -> str:
    """The blind-ranking section, or "" without a ranking or before any vote."""
    if ranking is None:
        return ""
    view = ranking.ranking_view() if hasattr(ranking, "ranking_view") else ranking
    if not isinstance(view, RankingView):
        raise TypeError("ranking must be a RankingView or have a ranking_view() method, not "
                        f"{type(ranking).__name__}")
    return view.to_html() if view.votes else ""


def _page(
    result: SweepResult,
    rows: list[SweepRow],
    media: list[dict[str, str]],
    title: str,
    version: str,
    ranking: str = "",
) -> str:
    fixed = "".join(f"<span><b>{_e(k)}</b>: {_e(v)}</span>" for k, v in result.fixed.items())
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    preload = "auto" if len(rows) <= PRELOAD_ALL_LIMIT else "metadata"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        (
            f'<div class="meta">hh_notebook {_e(version)} · {_e(_kind(result))} '
            f"{_e(result.sweep_id)} · "
            f"{len(rows)} clips · spent {_e(_total_text(result))} · written {_e(when)}</div>"
        ),
        f'<div class="fixed">{fixed}</div>',
        _axes_line(result),
    ]
    parts += _grids(result, rows, media, preload)
    if ranking:
        parts.append(ranking)
    parts.append(_table(result, rows, media))
    if metric_columns_in(result.to_records()):
        parts.append(SORT_SCRIPT)
    parts.append("</body></html>")
    return "\n".join(parts)


def _kind(result: Any) -> str:
    """What the result is: a sweep, or another result read like one (a storyboard)."""
    return str(getattr(result, "kind", "sweep"))


def _axes_line(result: SweepResult) -> str:
    roles = ("rows", "columns", "pages")
    layout = result.layout
    items = [
        f"<span><b>{role}</b>: {_e(result.axes[i].name)}</span>"
        for role, i in zip(roles, layout)
        if i is not None
    ]
    return f'<div class="fixed">{"".join(items)}</div>' if items else ""


def _grids(
    result: SweepResult, rows: list[SweepRow], media: list[dict[str, str]], preload: str
) -> list[str]:
    row_ax, col_ax, page_ax = result.layout
    n_rows, n_cols, n_pages = result.shape

    def labels(index: int | None) -> list[str]:
        return list(result.axes[index].labels) if index is not None else [""]

    out = []
    by_position = {(r.page, r.row, r.col): (r, m) for r, m in zip(rows, media)}
    for page in range(n_pages):
        if page_ax is not None:
            out.append(
                f'<div class="page-title">{_e(result.axes[page_ax].name)}: '
                f"{_e(labels(page_ax)[page])}</div>"
            )
        head_col = "minmax(60px, max-content) " if row_ax is not None else ""
        out.append(
            f'<div class="grid" style="grid-template-columns: {head_col}'
            f'repeat({n_cols}, minmax(160px, 1fr))">'
        )
        if col_ax is not None:
            if row_ax is not None:
                out.append('<div class="head"></div>')
            out += [f'<div class="head col">{_e(lab)}</div>' for lab in labels(col_ax)]
        for r in range(n_rows):
            if row_ax is not None:
                out.append(f'<div class="head">{_e(labels(row_ax)[r])}</div>')
            for c in range(n_cols):
                found = by_position.get((page, r, c))
                out.append(_cell_html(*found, preload) if found else '<div class="cell"></div>')
        out.append("</div>")
    return out


def _cell_html(row: SweepRow, media: dict[str, str], preload: str) -> str:
    status = row.status + (" · from journal ($0)" if row.from_cache else "")
    if row.error:
        status += f" · {row.error}"
    css = "status failed" if row.status in ("failed", "expired", "unknown") else "status"
    bits = [f'<div class="cell" id="cell-{_e(row.key)}">']
    if "clip" in media:
        poster = f' poster="{_e(media["poster"])}"' if "poster" in media else ""
        bits.append(
            f'<video controls muted loop playsinline preload="{preload}"{poster} '
            f'src="{_e(media["clip"])}"></video>'
        )
    bits.append(f'<div class="{css}">{_e(status)}</div>')
    bits.append(metrics_line(getattr(row, "metrics", None)))
    if row.rating is not None:
        bits.append(f'<div class="status">rating: {_e(row.rating)}</div>')
    if row.note:
        bits.append(f'<div class="note">{_e(row.note)}</div>')
    if "sheet" in media:
        bits.append(
            f'<div class="sheet"><a href="{_e(media["sheet"])}">'
            f'<img alt="contact sheet of cell {_e(row.key)}" src="{_e(media["sheet"])}"></a></div>'
        )
    bits.append("</div>")
    return "".join(bits)


def _table(result: SweepResult, rows: list[SweepRow], media: list[dict[str, str]]) -> str:
    records = result.to_records()
    extra = [a.name for a in result.axes if a.name not in _TABLE_COLUMNS]
    columns = list(_TABLE_COLUMNS[:1]) + extra + list(_TABLE_COLUMNS[1:])
    # Columns empty in every row (no image, no error...) only add noise.
    columns = [c for c in columns if any(r.get(c) not in (None, "") for r in records)]
    figures = metric_columns_in(records)
    sorts = {c: sort_attributes(c, records) if figures else "" for c in columns}
    head = "".join(f"<th{sorts[c]}>{_e(c)}</th>" for c in columns)
    head += "".join(metric_header(f) for f in figures) + "<th>request</th>"
    body = []
    for record, row, urls in zip(records, rows, media):
        cells = []
        for column in columns:
            css = ' class="prompt"' if column in ("prompt", "negative_prompt") else ""
            value = record.get(column)
            if sorts[column] == ' data-sort="num"' and value is not None:
                css += f' data-value="{_e(value)}"'  # sorted by the number, not its text
            if column == "cost":
                value = _cost_text(record)
            cells.append(f"<td{css}>{_e(value)}</td>")
        cells += [metric_cell(f, record.get(f.name)) for f in figures]
        link = f'<a href="{_e(urls["request"])}">json</a>' if "request" in urls else ""
        cells.append(
            f"<td>{link}<details><summary>show</summary><pre>{_e(_request_json(row))}</pre>"
            "</details></td>"
        )
        body.append("<tr>" + "".join(cells) + "</tr>")
    sortable = ' class="sortable"' if figures else ""
    return (f"<table{sortable}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")
