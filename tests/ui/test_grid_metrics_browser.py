"""Clip metrics in a real browser: in JupyterLab the grid's Measure button fills a badge row
per clip and sorting by a metric reorders the panes in the kernel's order; an exported report
sorts its table by a metric column when its header is clicked."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from hh_notebook.client import Client
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult, sweep

from .helpers import (
    JupyterLab,
    cell_output_text,
    run_all_cells,
    save_screenshot,
    wait_cells_done,
    wait_for_js,
    write_notebook,
)

pytestmark = pytest.mark.browser

CELLS = [
    (
        "import hh_notebook as hh\n"
        "sw = hh.sweep('a grey heron <b>wades</b> at dusk', seed='1-3', duration=3)\n"
        "print('sweep done', sw.run(budget=5))"
    ),
    "grid = sw.show()",
    # Run again after measuring in the page: the kernel's own order of the clips by motion.
    (
        "figures = {cid: m['values']['motion_px'] for cid, m in grid.metrics.items()}\n"
        "print('kernel order', sorted(figures, key=lambda cid: -figures[cid]))"
    ),
]

PANES = "() => [...document.querySelectorAll('.hh-grid-table .hh-grid-pane')]" \
        ".filter(p => !p.hidden).map(p => p.dataset.cellId)"
BADGES = """() => [...document.querySelectorAll('.hh-grid-pane')].map(p => ({
  id: p.dataset.cellId,
  motion: p.querySelector(".hh-grid-badge[data-metric='motion_px']")?.textContent,
  value: Number(p.querySelector(".hh-grid-badge[data-metric='motion_px']")?.dataset.value),
  title: p.querySelector(".hh-grid-badge[data-metric='motion_px']")?.title,
  names: [...p.querySelectorAll('.hh-grid-badge')].map(b => b.dataset.metric || b.textContent),
}))"""


def _kernel_order(page: Any) -> list[str]:
    """Run the third cell again and read the order it prints."""
    page.locator(".jp-CodeCell").nth(2).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    wait_for_js(page, "[...document.querySelectorAll('.jp-OutputArea-output')]"
                      ".some(o => o.innerText.includes(\"kernel order ['\"))", timeout=60)
    text = cell_output_text(page, 2)
    listed = text.split("kernel order", 1)[1].strip()
    return [item.strip(" '[]") for item in listed.split(",")]


def test_measure_badges_and_sorting_by_a_metric(jupyter_lab: JupyterLab, page: Any) -> None:
    page.set_viewport_size({"width": 1400, "height": 1600})
    write_notebook(jupyter_lab.root, "metrics.ipynb", CELLS)
    jupyter_lab.open(page, "metrics.ipynb")
    run_all_cells(page)
    wait_cells_done(page, count=3, timeout=150)
    assert "sweep done" in cell_output_text(page, 0)
    wait_for_js(page, "document.querySelectorAll('.hh-grid-pane').length === 3", timeout=60)
    axes_order = page.evaluate(PANES)
    # One axis: nothing to swap, so no Rows/Columns bar.
    assert not page.locator(".hh-grid-layout").is_visible()

    measure = page.locator(".hh-grid-measure")
    assert measure.is_visible() and measure.inner_text() == "Measure 3 clips"
    measure.click()
    wait_for_js(page, "document.querySelectorAll(\".hh-grid-badge[data-metric='motion_px']\")"
                      ".length === 3", timeout=120)
    badges = page.evaluate(BADGES)
    for pane in badges:
        assert pane["motion"].startswith("motion ") and pane["motion"].endswith(" px/f"), pane
        assert "px/frame" in pane["title"], pane
        assert {"motion_px", "flicker", "lufs", "cuts"} <= set(pane["names"]), pane
    assert not measure.is_visible()
    save_screenshot(page, "grid_measured", "test_grid_metrics_browser")

    kernel_order = _kernel_order(page)
    assert sorted(kernel_order) == sorted(axes_order)
    page.select_option(".hh-grid-sort", "motion_px")
    wait_for_js(page, "document.querySelectorAll('.hh-grid-ranked').length === 3", timeout=30)
    ranked = page.evaluate(PANES)
    assert ranked == kernel_order
    values = {b["id"]: b["value"] for b in page.evaluate(BADGES)}
    assert [values[i] for i in ranked] == sorted(values.values(), reverse=True)
    save_screenshot(page, "grid_ranked", "test_grid_metrics_browser")

    page.click(".hh-grid-sort-dir")
    wait_for_js(page, f"({PANES})().join() === {list(reversed(kernel_order))!r}.join()",
                timeout=30)
    middle = sorted(values.values())[1]
    page.select_option(".hh-grid-filter-metric", "motion_px")
    page.fill(".hh-grid-filter-value", repr(middle))
    page.locator(".hh-grid-filter-value").dispatch_event("change")
    wait_for_js(page, f"({PANES})().length === 2", timeout=30)
    assert page.inner_text(".hh-grid-shown") == "2 of 3 shown"
    page.select_option(".hh-grid-filter-metric", "")
    page.select_option(".hh-grid-sort", "")
    wait_for_js(page, f"({PANES})().join() === {axes_order!r}.join()", timeout=30)
    assert page.evaluate("document.querySelectorAll('.hh-grid-colhead').length") == 3


@pytest.fixture(scope="module")
def measured(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[SweepResult]:
    client = Client(provider="segmind", base_url=sandbox.base_url,
                    data_dir=tmp_path_factory.mktemp("report-metrics-data"))
    try:
        done = sweep("a heron <i>fishing</i>", client=client, seed="801-803",
                     duration=3).run(budget=5, timeout=120)
        yield done.measure(workers=1)
    finally:
        client.close()


ROW_MOTION = """() => {
  const table = document.querySelector('table.sortable');
  const head = [...table.tHead.rows[0].cells].findIndex(c => c.textContent.startsWith('motion_px'));
  return [...table.tBodies[0].rows].map(r => Number(r.cells[head].dataset.value));
}"""


def test_the_report_sorts_by_a_metric_header(chromium: Any, measured: SweepResult,
                                             tmp_path: pathlib.Path) -> None:
    index = measured.export_report(tmp_path / "report")
    context = chromium.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    try:
        page.goto(index.as_uri())
        header = page.locator("th", has_text="motion_px (px/frame)")
        header.click()
        ascending = page.evaluate(ROW_MOTION)
        assert ascending == sorted(ascending) and len(set(ascending)) == 3
        assert header.get_attribute("aria-sort") == "ascending"
        header.click()
        assert page.evaluate(ROW_MOTION) == sorted(ascending, reverse=True)
        assert "a heron <i>fishing</i>" in page.inner_text("body")
        save_screenshot(page, "report_sorted", "test_grid_metrics_browser")
    finally:
        context.close()
    assert all(u.startswith("file://") for u in requested), requested
