"""Clip metrics in the HTML report: sortable metric columns and a line of figures per clip
once the result is measured, nothing of it before, user text escaped throughout."""

from __future__ import annotations

import dataclasses
import pathlib
import re
from collections.abc import Iterator

import pytest
from sweep_fixtures import HOSTILE_PROMPT, finished_sweep

from hh_notebook.client import Client
from hh_notebook.metrics import ClipMetrics
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult

HOSTILE_ERROR = 'MediaError: <img src=x onerror="alert(1)"> & more'


@pytest.fixture(scope="module")
def done(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Client, SweepResult]]:
    client, result = finished_sweep(sandbox, tmp_path_factory.mktemp("report-metrics"))
    yield client, result.measure(workers=1)
    client.close()


def table_of(page: str) -> str:
    match = re.search(r'<table class="sortable">.*?</table>', page, re.DOTALL)
    assert match, "no sortable table"
    return match.group(0)


def test_a_measured_report_has_one_sortable_column_per_metric(
        done: tuple[Client, SweepResult], tmp_path: pathlib.Path) -> None:
    result = done[1]
    table = table_of(result.export_report(tmp_path / "rep").read_text())
    for header in ("motion_px (px/frame)", "flicker (luma/frame)", "lufs (LUFS)", "cuts"):
        assert f">{header}</th>" in table, header
    assert table.count('<th data-sort="num" title=') >= 10
    values = re.findall(r'<td class="num" data-value="([^"]*)">', table)
    motion = [str(row.metrics.motion_px) for row in result.rows if row.metrics]
    assert all(m in values for m in motion)


def test_rows_follow_the_records_with_figures_in_their_own_row(
        done: tuple[Client, SweepResult], tmp_path: pathlib.Path) -> None:
    result = done[1]
    table = table_of(result.export_report(tmp_path / "rep").read_text())
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.DOTALL)
    assert len(rows) == 4
    for row, html_row in zip(result.rows, rows):
        assert row.metrics is not None
        assert f'data-value="{row.metrics.lufs}"' in html_row


def test_the_sort_script_is_inline_and_asks_nothing_of_the_network(
        done: tuple[Client, SweepResult], tmp_path: pathlib.Path) -> None:
    page = done[1].export_report(tmp_path / "rep").read_text()
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.DOTALL)
    assert len(scripts) == 1 and "<script>" in page  # no src=
    assert not re.search(r"https?:|fetch\(|import\(|XMLHttpRequest|innerHTML", scripts[0])


def test_each_clip_shows_its_figures_under_it(
        done: tuple[Client, SweepResult], tmp_path: pathlib.Path) -> None:
    result = done[1]
    page = result.export_report(tmp_path / "rep").read_text()
    lines = re.findall(r'<div class="metrics">([^<]*)</div>', page)
    assert len(lines) == 4
    assert all("motion" in line and "LUFS" in line and "cuts" in line for line in lines)


def test_user_text_and_metric_errors_stay_escaped(
        done: tuple[Client, SweepResult], tmp_path: pathlib.Path) -> None:
    result = done[1].refresh()
    broken = ClipMetrics(str(result.rows[0].video_path), None, error=HOSTILE_ERROR)
    result.rows[0] = dataclasses.replace(result.rows[0], metrics=broken)
    page = result.export_report(tmp_path / "rep").read_text()
    assert HOSTILE_PROMPT not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more" in page
    assert page.count("&lt;script&gt;alert(&quot;fox&quot;)&lt;/script&gt;") >= 1


def test_an_unmeasured_report_has_no_metric_columns_or_script(
        done: tuple[Client, SweepResult], tmp_path: pathlib.Path) -> None:
    page = done[1].sweep.result().export_report(tmp_path / "rep").read_text()
    assert "motion_px" not in page and "<script" not in page.replace("&lt;script", "")
    assert 'class="sortable"' not in page
