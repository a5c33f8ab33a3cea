"""Voilà serving the example app in a real Chromium: pick seeds, Run, and the grid fills in
live and its clips play. A notebook using the magic under Voilà gets the live job widget (a
Voilà kernel executes like nbclient, without stdin, but is not headless)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import REPO_ROOT, save_screenshot, wait_for_js, write_notebook
from .playback import PLAY, assert_plays, playable
from .servers import AppServer, start_voila

pytestmark = pytest.mark.browser

APP = "voila_sweep_app.ipynb"
PROBE = "magic_under_voila.ipynb"
PROBE_CELLS = [
    (
        "from hh_notebook import runtime\n"
        "print('in_voila', runtime.in_voila(), 'headless', runtime.is_headless())"
    ),
    "%load_ext hh_notebook",
    "%%happyhorse -d 3 -s 23\nA bay horse trots along a river bank, water splashing",
]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """Voilà on a folder holding the example app and a notebook using the magic."""
    base = tmp_path_factory.mktemp("voila")
    root = base / "root"
    root.mkdir()
    shutil.copy(REPO_ROOT / "notebooks" / APP, root / APP)
    write_notebook(root, PROBE, PROBE_CELLS)
    env = {"HH_DATA_DIR": str(base / "hh_data"), "HH_SANDBOX_TIME_SCALE": "0.02"}
    with start_voila(root, base, env) as server:
        yield server


def test_app_grid_fills_in_live_and_its_clips_play(app_page: Any, app_server: AppServer) -> None:
    app_page.goto(f"{app_server.url}/voila/render/{APP}", timeout=60_000)
    run = app_page.get_by_role("button", name="Run")
    run.wait_for(timeout=60_000)
    seeds = app_page.locator(".widget-text").filter(has_text="Seeds").locator("input")
    seeds.fill("5-7")
    # The kernel re-plans on every change; Run once the new estimate is shown.
    app_page.get_by_text("3 clips (3 new)").wait_for(timeout=20_000)
    run.click()
    grid = app_page.locator(".hh-grid")
    grid.wait_for(timeout=20_000)
    grid.scroll_into_view_if_needed()
    wait_for_js(app_page, playable(".hh-grid video.hh-grid-video", 3), timeout=45)
    assert "3/3 done" in app_page.locator(".hh-grid .hh-grid-progress").inner_text()
    labels = app_page.locator(".hh-grid").inner_text()
    assert all(seed in labels for seed in ("5", "6", "7"))
    assert_plays(app_page.evaluate(PLAY, ".hh-grid video.hh-grid-video"))
    save_screenshot(app_page, "voila_app_grid", "voila")


def test_magic_under_voila_shows_the_live_job_widget(
    app_page: Any, app_server: AppServer
) -> None:
    app_page.goto(f"{app_server.url}/voila/render/{PROBE}", timeout=60_000)
    app_page.get_by_text("in_voila True headless False").wait_for(timeout=60_000)
    job = app_page.locator(".hh-job")
    job.wait_for(timeout=30_000)
    assert app_page.locator(".hh-job-static").count() == 0
    wait_for_js(
        app_page, "document.querySelector('.hh-job').dataset.status === 'succeeded'", timeout=45
    )
    job.scroll_into_view_if_needed()
    wait_for_js(app_page, playable(".hh-job video.hh-video", 1), timeout=30)
    assert_plays(app_page.evaluate(PLAY, ".hh-job video.hh-video"))
    save_screenshot(app_page, "voila_magic", "voila")
