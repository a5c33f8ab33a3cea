"""A blind ranking as HTML: the escaped table, the SVG heatmap (well-formed, colours that say
who won) and the report's optional section."""

from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sweep_fixtures import finished_sweep

from hh_notebook.client import Client
from hh_notebook.ranking_html import RankingRow, RankingView, ranking_table_html, win_matrix_svg
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ['</td><script>alert("x")</script>', 'fox & "owl"\x01', "x" * 80]


def view(labels: list[str] = HOSTILE, votes: int = 9) -> RankingView:
    rows = tuple(RankingRow(k + 1, label, 1050.0 - 50 * k, 1000.0 - 50 * k, 1100.0 - 50 * k,
                            6, 4, 2, 0) for k, label in enumerate(labels))
    # Row 0 beat row 1 five times out of six; rows 0 and 2 never met.
    matrix = ((0.0, 5.0, 0.0), (1.0, 0.0, 3.0), (0.0, 0.0, 0.0))
    return RankingView("Blind ranking by <prompt>", rows, matrix, votes, 0, 1, 2)


def squares(svg: str) -> dict[str, str]:
    """Tooltip → fill of every heatmap square."""
    tree = ET.fromstring(svg)
    return {g.find(f"{SVG}title").text: g.find(f"{SVG}rect").get("fill")
            for g in tree.iter(f"{SVG}g")}


def test_table_escapes_every_label() -> None:
    table = ranking_table_html(view())
    assert "<script>" not in table and "&lt;/td&gt;&lt;script&gt;" in table
    assert "fox &amp; &quot;owl&quot;" in table and "\x01" not in table
    assert table.count("<tr>") == 4


def test_heatmap_is_well_formed_xml_with_full_labels_in_tooltips() -> None:
    svg = win_matrix_svg(view())
    tree = ET.fromstring(svg)  # raises on any unescaped label
    titles = [t.text for t in tree.iter(f"{SVG}title")]
    assert HOSTILE[0] in titles and 'fox & "owl"' in titles and "x" * 80 in titles
    drawn = [t.text for t in tree.iter(f"{SVG}text") if t.text]
    assert all(len(text) <= 28 for text in drawn)


def test_heatmap_colours_say_who_won() -> None:
    fills = squares(win_matrix_svg(view(["a", "b", "c"])))
    won, lost = fills["a beat b 5 of 6 times"], fills["b beat a 1 of 6 times"]
    red, blue = int(won[1:3], 16), int(won[5:7], 16)
    assert blue > red  # mostly won: blue
    red, blue = int(lost[1:3], 16), int(lost[5:7], 16)
    assert red > blue  # mostly lost: red
    assert fills["never compared"] == "#e0e0e0"


def test_section_names_votes_ties_skips_and_voters() -> None:
    html = view().to_html()
    assert "Blind ranking by &lt;prompt&gt;" in html
    assert "9 votes · 1 skipped · 2 voters" in html and "95 % bootstrap intervals" in html


@pytest.fixture(scope="module")
def done(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Client, SweepResult]]:
    client, result = finished_sweep(sandbox, tmp_path_factory.mktemp("ranking-report"))
    yield client, result
    client.close()


def test_report_has_a_ranking_section_when_given_one(done: tuple[Client, SweepResult],
                                                     tmp_path: pathlib.Path) -> None:
    _, result = done
    arena = SimpleNamespace(ranking_view=view)  # anything with ranking_view(), like an arena
    page = result.export_report(tmp_path / "with", ranking=arena).read_text(encoding="utf-8")
    assert page.count('<section class="hh-ranking">') == 1
    assert page.index("hh-ranking") < page.index("<thead><tr><th>cell")  # before the table
    assert '<script>alert("x")' not in page
    plain = result.export_report(tmp_path / "plain").read_text(encoding="utf-8")
    assert "hh-ranking" not in plain.split("</style>", 1)[1]


def test_report_leaves_out_a_ranking_without_votes(done: tuple[Client, SweepResult],
                                                   tmp_path: pathlib.Path) -> None:
    _, result = done
    page = result.export_report(tmp_path / "empty", ranking=view(votes=0))
    assert '<section class="hh-ranking">' not in page.read_text(encoding="utf-8")
    with pytest.raises(TypeError, match="ranking_view"):
        result.export_report(tmp_path / "bad", ranking="fox")
