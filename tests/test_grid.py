"""The comparison grid's kernel side: traits, layout, lazy media as buffers, ratings."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from sweep_fixtures import HOSTILE_PROMPT, finished_sweep

from hh_notebook.client import Client
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult, sweep
from hh_notebook.widgets.grid import SweepGrid, compare


@pytest.fixture(scope="module")
def done(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Client, SweepResult]]:
    client, result = finished_sweep(sandbox, tmp_path_factory.mktemp("grid"))
    yield client, result
    client.close()


class Sent:
    """Captures what the widget sends to the front end."""

    def __init__(self, grid: SweepGrid) -> None:
        self.messages: list[tuple[dict[str, Any], list[bytes]]] = []
        grid.send = self.send  # type: ignore[method-assign]

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self.messages.append((content, list(buffers or [])))


def test_grid_mirrors_axes_labels_and_fixed_params(done: tuple[Client, SweepResult]) -> None:
    _, result = done
    grid = SweepGrid.from_sweep(result)
    assert grid.axes == [
        {"name": "seed", "labels": ["601", "602"]},
        {"name": "aspect_ratio", "labels": ["16:9", "9:16"]},
    ]
    assert grid.layout == {"rows": 0, "columns": 1, "pages": None, "inner": None}
    assert grid.fixed["prompt"] == HOSTILE_PROMPT and grid.fixed["duration"] == "3"
    assert len(grid.cells) == 4
    assert all(c["status"] == "succeeded" and c["has_clip"] for c in grid.cells)
    assert "4/4 done" in grid.progress_text


def test_no_trait_carries_clip_bytes(done: tuple[Client, SweepResult]) -> None:
    grid = SweepGrid.from_sweep(done[1])
    state = grid.get_state()
    text = json.dumps({k: v for k, v in state.items() if k not in ("_esm", "_css")})
    assert len(text) < 10_000
    assert all(not isinstance(v, (bytes, memoryview)) for v in state.values())


def test_clip_and_poster_go_as_binary_buffers_on_request(done: tuple[Client, SweepResult]) -> None:
    _, result = done
    grid = SweepGrid.from_sweep(result)
    sent = Sent(grid)
    cell_id = grid.cells[0]["id"]
    grid._on_front_end_message(grid, {"type": "poster", "id": cell_id}, [])
    grid._on_front_end_message(grid, {"type": "clip", "id": cell_id}, [])
    (poster, poster_bufs), (clip, clip_bufs) = sent.messages
    assert poster["type"] == "poster" and poster_bufs[0][:2] == b"\xff\xd8"  # JPEG
    assert clip["type"] == "clip" and clip["count"] == 1
    row = next(r for r in result.rows if f"0:{r.key}" == cell_id)
    assert clip_bufs[0] == row.video_path.read_bytes()


def test_unknown_cell_gets_an_error_not_bytes(done: tuple[Client, SweepResult]) -> None:
    grid = SweepGrid.from_sweep(done[1])
    sent = Sent(grid)
    grid._on_front_end_message(grid, {"type": "clip", "id": "0:nope"}, [])
    assert sent.messages == [
        ({"type": "clip_error", "id": "0:nope", "message": "no clip for this cell"}, [])
    ]


def test_rating_click_is_saved_in_the_journal(
    sandbox: Sandbox, tmp_path: pathlib.Path, done: tuple[Client, SweepResult]
) -> None:
    client, result = done
    grid = SweepGrid.from_sweep(result)
    cell_id = grid.cells[1]["id"]
    grid._on_front_end_message(grid, {"type": "rate", "id": cell_id, "rating": 5,
                                      "note": "best <one>"}, [])  # fmt: skip
    job_id = grid.cells[1]["job_id"]
    record = client.journal.get(job_id)
    assert (record.rating, record.note) == (5, "best <one>")
    assert (grid.cells[1]["rating"], grid.cells[1]["note"]) == (5, "best <one>")
    # A new client on the same folder (a restart) sees it, and so does a new grid.
    again = Client(provider="segmind", base_url=sandbox.base_url, data_dir=client.data_dir)
    try:
        sw = sweep(HOSTILE_PROMPT, client=again, seed="601-602", aspect="16:9,9:16", duration=3)
        fresh = SweepGrid.from_sweep(sw)
        assert fresh.cells[1]["rating"] == 5
        assert sw.result().rows[1].note == "best <one>"
    finally:
        again.close()


def test_set_layout_and_swap_without_rerun(done: tuple[Client, SweepResult]) -> None:
    grid = SweepGrid.from_sweep(done[1])
    cells_before = grid.cells
    grid.swap_axes()
    assert grid.layout["rows"] == 1 and grid.layout["columns"] == 0
    grid.set_layout(rows="seed", pages="aspect_ratio")
    assert grid.layout == {"rows": 0, "columns": None, "pages": 1, "inner": None}
    grid.set_layout(columns="seed", inner="aspect_ratio")
    assert grid.layout == {"rows": None, "columns": 0, "pages": None, "inner": 1}
    assert grid.cells == cells_before
    with pytest.raises(ValueError, match="no axis 'colour'"):
        grid.set_layout(rows="colour")


def test_compare_two_sweeps_cell_by_cell(
    sandbox: Sandbox, tmp_path: pathlib.Path, done: tuple[Client, SweepResult]
) -> None:
    _, a = done
    client_b, b = finished_sweep(sandbox, tmp_path / "b", prompt="a grey fox", seeds="601-602")
    try:
        grid = compare(a, b, labels=("red", "grey"))
        assert [x["name"] for x in grid.axes] == ["seed", "aspect_ratio", "sweep"]
        assert grid.axes[2]["labels"] == ["red", "grey"]
        assert grid.layout["inner"] == 2
        assert len(grid.cells) == 8
        pairs: dict[tuple[int, int], set[int]] = {}
        for cell in grid.cells:
            pairs.setdefault((cell["coords"][0], cell["coords"][1]), set()).add(cell["coords"][2])
        assert pairs == {(r, c): {0, 1} for r in range(2) for c in range(2)}
        assert "red:" in grid.progress_text and "grey:" in grid.progress_text
    finally:
        client_b.close()


def test_static_html_escapes_user_text(done: tuple[Client, SweepResult]) -> None:
    html = SweepGrid.from_sweep(done[1]).static_html()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_live_grid_follows_a_running_sweep(sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    client = Client(provider="segmind", base_url=sandbox.base_url, data_dir=tmp_path)
    try:
        sw = sweep(HOSTILE_PROMPT, client=client, seed="611-612", duration=3)
        grid = SweepGrid.from_sweep(sw)
        assert [c["status"] for c in grid.cells] == ["pending", "pending"]
        statuses: list[list[str]] = []
        grid.observe(lambda change: statuses.append([c["status"] for c in change["new"]]),
                     names="cells")  # fmt: skip
        sw.run(budget=5, timeout=60)
        grid.flush()
        assert [c["status"] for c in grid.cells] == ["succeeded", "succeeded"]
        assert any("running" in s for s in statuses)
        assert all(c["has_clip"] for c in grid.cells)
    finally:
        client.close()


def test_thumbs_scale_stores_plus_or_minus_one(done: tuple[Client, SweepResult]) -> None:
    client, result = done
    grid = SweepGrid.from_sweep(result, rating_scale="thumbs")
    assert grid.rating_scale == "thumbs"
    cell = grid.cells[3]
    grid._on_front_end_message(grid, {"type": "rate", "id": cell["id"], "rating": -1}, [])
    assert client.journal.get(cell["job_id"]).rating == -1
    grid._on_front_end_message(grid, {"type": "rate", "id": cell["id"], "rating": None}, [])
    assert client.journal.get(cell["job_id"]).rating is None
