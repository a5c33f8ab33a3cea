"""A blind ranking as plain data and as HTML: a table and an inline SVG heatmap of who beat
whom, for reports, grids and notebooks.

:class:`RankingView` holds numbers and labels only (it is built by
:meth:`hh_notebook.arena_session.ArenaSession.ranking_view`), so that the report and the
grid can show a ranking without importing the arena. Every label is escaped; the SVG is
well-formed XML (a browser can parse it on its own).

>>> view = RankingView(
...     title="Blind ranking of prompt",
...     rows=(RankingRow(1, "calm <sea>", 1040.0, 1010.0, 1070.0, 6, 5, 1, 0),
...           RankingRow(2, "storm", 960.0, 930.0, 990.0, 6, 1, 5, 0)),
...     matrix=((0.0, 5.0), (1.0, 0.0)), votes=6, ties=0, skipped=1, voters=2)
>>> "calm &lt;sea&gt;" in view.to_html() and "<svg" in view.to_html()
True
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["RankingRow", "RankingView", "ranking_table_html", "win_matrix_svg"]

#: Side of one heatmap square, in pixels.
CELL = 30
#: Longest label drawn in the heatmap (the full text is in the square's tooltip).
LABEL_CHARS = 28
#: Most items drawn in the heatmap (the best ones); the table lists every item.
HEATMAP_ITEMS = 30

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RankingRow:
    """One line of a ranking: ``score`` on an Elo-like scale with its interval
    ``low``–``high`` (all three ``None`` for an item never compared)."""

    rank: int
    label: str
    score: float | None
    low: float | None
    high: float | None
    comparisons: int
    wins: int
    losses: int
    ties: int


@dataclass(frozen=True)
class RankingView:
    """A ranking ready to show: rows best first and ``matrix[i][j]``, how often row ``i``
    beat row ``j`` (a tie counting half). ``votes`` counts the judged votes, ``ties`` those
    that were ties, ``skipped`` the skips; ``voters`` the people who voted."""

    title: str
    rows: tuple[RankingRow, ...]
    matrix: tuple[tuple[float, ...], ...]
    votes: int
    ties: int
    skipped: int
    voters: int
    confidence: float = 0.95

    def summary(self) -> str:
        """One line: votes, ties, skips and voters."""
        parts = [f"{self.votes} vote{'s' if self.votes != 1 else ''}"]
        if self.ties:
            parts.append(f"{self.ties} tied")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        parts.append(f"{self.voters} voter{'s' if self.voters != 1 else ''}")
        return " · ".join(parts)

    def to_html(self) -> str:
        """The section: title, summary, the table and the heatmap."""
        return (
            f'<section class="hh-ranking"><h2>{_e(self.title)}</h2>'
            f'<div class="meta">{_e(self.summary())} · Bradley–Terry scores on an Elo-like '
            f"scale (average 1000), {round(self.confidence * 100)} % bootstrap intervals</div>"
            f"{ranking_table_html(self)}{win_matrix_svg(self)}</section>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()


def _e(value: object) -> str:
    return html.escape(_CONTROL.sub("", str(value)), quote=True)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def ranking_table_html(view: RankingView) -> str:
    """The ranking as an HTML table: rank, item, score, interval, comparisons, W/L/T."""
    head = ("<tr><th>#</th><th>item</th><th>score</th><th>interval</th><th>comparisons</th>"
            "<th>won</th><th>lost</th><th>tied</th></tr>")
    body = "".join(
        f'<tr><td>{row.rank}</td><td class="label">{_e(row.label)}</td>'
        f'<td class="num">{_num(row.score)}</td>'
        f'<td class="num">{_num(row.low)}–{_num(row.high)}</td>'
        f'<td class="num">{row.comparisons}</td><td class="num">{row.wins}</td>'
        f'<td class="num">{row.losses}</td><td class="num">{row.ties}</td></tr>'
        for row in view.rows
    )
    return f'<table class="hh-ranking-table">{head}{body}</table>'


def win_matrix_svg(view: RankingView) -> str:
    """The win matrix as an inline SVG heatmap, rows and columns in ranking order.

    A square is blue when the row's item won most of its comparisons with the column's
    item, red when it lost most, white at even; grey squares were never compared. Each
    square's tooltip gives the count.
    """
    n = min(len(view.rows), HEATMAP_ITEMS)
    labels = [_shorten(view.rows[k].label) for k in range(n)]
    margin = 12 + 7 * max((len(lab) for lab in labels), default=1)
    size = margin + n * CELL + 4
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="hh-win-matrix" width="{size}" '
         f'height="{size}" viewBox="0 0 {size} {size}" role="img" '
         f'font-family="system-ui, sans-serif" font-size="11">'),
        "<title>Win matrix: how often the row beat the column</title>",
    ]
    for k, label in enumerate(labels):
        full = _e(view.rows[k].label)
        y = margin + k * CELL + CELL / 2 + 4
        x = margin + k * CELL + CELL / 2
        parts.append(f'<text class="label" x="{margin - 6}" y="{y:.0f}" text-anchor="end">'
                     f"<title>{full}</title>{_e(label)}</text>")
        parts.append(f'<text class="label" transform="translate({x + 4:.0f},{margin - 6}) '
                     'rotate(-60)">'
                     f"<title>{full}</title>{_e(label)}</text>")
    for i in range(n):
        for j in range(n):
            parts.append(_square(view, i, j, margin))
    parts.append("</svg>")
    return "".join(parts)


def _square(view: RankingView, i: int, j: int, margin: int) -> str:
    if i == j:
        return ""
    x, y = margin + j * CELL, margin + i * CELL
    won, lost = _at(view.matrix, i, j), _at(view.matrix, j, i)
    total = won + lost
    if total == 0:
        fill, tip, text = "#e0e0e0", "never compared", ""
    else:
        share = won / total
        fill = _colour(share)
        tip = (f"{view.rows[i].label} beat {view.rows[j].label} "
               f"{_count(won)} of {_count(total)} times")
        text = f"{round(share * 100)}"
    ink = "#fff" if text and abs(won / total - 0.5) > 0.3 else "#000"  # legible on dark squares
    label = (f'<text x="{x + CELL / 2:.0f}" y="{y + CELL / 2 + 4:.0f}" text-anchor="middle" '
             f'font-size="10" fill="{ink}">{text}</text>') if text else ""
    return (f'<g><title>{_e(tip)}</title><rect x="{x}" y="{y}" width="{CELL - 1}" '
            f'height="{CELL - 1}" fill="{fill}"/>{label}</g>')


def _at(matrix: Sequence[Sequence[float]], i: int, j: int) -> float:
    try:
        value = float(matrix[i][j])
    except (IndexError, TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def _count(value: float) -> str:
    return f"{value:g}"


def _colour(share: float) -> str:
    """Red (0) through white (½) to blue (1)."""
    share = min(1.0, max(0.0, share))
    if share >= 0.5:
        t = (share - 0.5) * 2
        red, green, blue = 255 - 222 * t, 255 - 153 * t, 255 - 83 * t  # towards #2166ac
    else:
        t = (0.5 - share) * 2
        red, green, blue = 255 - 77 * t, 255 - 231 * t, 255 - 212 * t  # towards #b2182b
    return f"#{round(red):02x}{round(green):02x}{round(blue):02x}"


def _shorten(label: str) -> str:
    text = " ".join(_CONTROL.sub("", label).split())
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
