"""Clip metrics in the comparison grid (kernel side): the synced figures, the Measure action
off the event loop, sorting and filtering traits, and a grid without the extra."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sweep_fixtures import finished_sweep

from hh_notebook import metrics
from hh_notebook.client import Client
from hh_notebook.metrics import ClipMetrics
from hh_notebook.metrics_columns import METRIC_COLUMNS
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult
from hh_notebook.widgets.grid import SweepGrid, compare
from hh_notebook.widgets.grid_metrics import cell_metrics


@pytest.fixture(scope="module")
def done(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Client, SweepResult]]:
    """A measured 2 × 2 sweep (its figures are in its journal)."""
    client, result = finished_sweep(sandbox, tmp_path_factory.mktemp("grid-metrics"))
    yield client, result.measure(workers=1)
    client.close()


def motion_by_cell(result: SweepResult, source: int = 0) -> dict[str, float | None]:
    return {f"{source}:{row.key}": row.metrics.motion_px
            for row in result.rows if row.metrics is not None}


def test_a_measured_result_shows_its_figures_in_every_cell(
        done: tuple[Client, SweepResult]) -> None:
    grid = SweepGrid.from_sweep(done[1])
    assert {cid: m["values"]["motion_px"] for cid, m in grid.metrics.items()} == \
        motion_by_cell(done[1])
    first = next(iter(grid.metrics.values()))
    assert first["texts"]["cuts"] == "0 cuts" and first["texts"]["lufs"].endswith(" LUFS")
    assert first["silent"] is False and first["error"] == ""


def test_the_figures_are_json_safe_and_small(done: tuple[Client, SweepResult]) -> None:
    grid = SweepGrid.from_sweep(done[1])
    text = json.dumps({"metrics": grid.metrics, "columns": grid.metric_columns}, allow_nan=False)
    assert len(text) < 10_000
    assert [c["name"] for c in grid.metric_columns] == [c.name for c in METRIC_COLUMNS]
    assert all(c["title"] for c in grid.metric_columns)


def test_not_a_number_goes_to_the_page_as_null() -> None:
    view = cell_metrics(ClipMetrics("a.mp4", "ab", motion_px=float("nan"), lufs=float("inf"),
                                    has_audio=False))
    assert view["values"]["motion_px"] is None and view["values"]["lufs"] is None
    assert view["texts"]["motion_px"] == "" and view["silent"] is True
    json.dumps(view, allow_nan=False)


def test_a_sweep_shown_before_measuring_offers_measure(done: tuple[Client, SweepResult]) -> None:
    grid = SweepGrid.from_sweep(done[1].sweep)
    assert grid.metrics == {} and grid.can_measure is True and grid.measuring == ""


def test_measure_from_the_page_fills_every_cell_from_the_journal(
        done: tuple[Client, SweepResult], monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[dict[str, Any]] = []
    real = metrics.run_parallel

    def recording(fn: Any, jobs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        batches.append(dict(jobs))  # the clips handed to worker processes
        return real(fn, jobs, *args, **kwargs)

    monkeypatch.setattr(metrics, "run_parallel", recording)
    grid = SweepGrid.from_sweep(done[1].sweep)
    grid._on_front_end_message(grid, {"type": "measure"}, [])
    assert {cid: m["values"]["motion_px"] for cid, m in grid.metrics.items()} == \
        motion_by_cell(done[1])
    assert batches == [{}]  # every clip came from the journal
    assert grid.measuring == "" and grid.message == ""


def test_measuring_runs_off_the_event_loop(done: tuple[Client, SweepResult]) -> None:
    grid = SweepGrid.from_sweep(done[1].sweep)

    async def kernel() -> tuple[str, bool]:
        task = grid.measure()
        await asyncio.sleep(0)  # the task starts and hands the work to a thread
        during = (grid.measuring, task.done())
        await task
        return during

    measuring, finished = asyncio.run(kernel())
    assert measuring.startswith("measur") and not finished
    assert len(grid.metrics) == 4 and grid.measuring == ""


def test_without_the_extra_the_grid_hides_measure_and_says_why(
        done: tuple[Client, SweepResult], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)
    grid = SweepGrid.from_sweep(done[1].sweep)
    assert grid.can_measure is False
    assert grid.measure() is None
    assert "pip install 'hh_notebook[metrics]'" in grid.message and grid.metrics == {}


def test_sort_takes_a_metric_name_or_none(done: tuple[Client, SweepResult]) -> None:
    grid = SweepGrid.from_sweep(done[1])
    grid.sort("flicker", descending=False)
    assert (grid.sort_by, grid.sort_descending) == ("flicker", False)
    grid.sort(None)
    assert grid.sort_by == ""
    with pytest.raises(KeyError, match="motion_px"):
        grid.sort("wobble")


def test_filter_keeps_sound_and_a_threshold(done: tuple[Client, SweepResult]) -> None:
    grid = SweepGrid.from_sweep(done[1])
    grid.filter(sound="hide silent", metric="motion_px", op=">=", value=0.2)
    assert grid.metric_filter == {"sound": "audible", "metric": "motion_px", "op": ">=",
                                  "value": 0.2}
    grid.filter()
    assert grid.metric_filter["sound"] == "all" and grid.metric_filter["metric"] == ""
    with pytest.raises(ValueError, match="sound"):
        grid.filter(sound="loud")


def test_compare_shows_the_figures_of_both_sides(done: tuple[Client, SweepResult]) -> None:
    result = done[1]
    grid = compare(result, result.refresh(), labels=("a", "b"))
    assert set(grid.metrics) == set(motion_by_cell(result, 0)) | set(motion_by_cell(result, 1))
