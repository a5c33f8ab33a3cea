"""The marimo example in ``marimo run`` and a real Chromium: the job widget shows the job's
progress live and then plays its clip; the sweep grid fills in and plays. marimo renders the
same anywidget views as JupyterLab (inside shadow roots), with the jobs running on marimo's
own event loop."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import REPO_ROOT, save_screenshot, wait_for_js
from .playback import DEEP, PLAY, assert_plays, playable
from .servers import AppServer, start_marimo

pytestmark = pytest.mark.browser

APP = REPO_ROOT / "notebooks" / "marimo_quickstart.py"
#: Slow enough that the job is still running when its widget first shows (~5 s a job).
TIME_SCALE = os.environ.get("HH_UI_MARIMO_TIME_SCALE", "0.03")

#: Every distinct "status progress" the first job widget shows, until it says succeeded.
WATCH_JOB = f"""async () => {{
  {DEEP}
  const seen = [];
  const deadline = performance.now() + 45000;
  while (performance.now() < deadline) {{
    const job = deep('.hh-job')[0];
    if (job) {{
      const bar = job.querySelector('.hh-progress');
      const entry = `${{job.dataset.status}} ${{bar ? bar.dataset.progress : ''}}`;
      if (seen[seen.length - 1] !== entry) seen.push(entry);
      if (job.dataset.status === 'succeeded') break;
    }}
    await new Promise((r) => setTimeout(r, 50));
  }}
  return seen;
}}"""


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """``marimo run`` on the example, with its own home and data folder and a fast sandbox."""
    base = tmp_path_factory.mktemp("marimo")
    env = {"HH_DATA_DIR": str(base / "hh_data"), "HH_SANDBOX_TIME_SCALE": TIME_SCALE}
    with start_marimo(APP, base, env) as server:
        yield server


def test_job_widget_shows_progress_then_plays_its_clip(
    app_page: Any, app_server: AppServer
) -> None:
    app_page.goto(app_server.url + "/", timeout=60_000)
    seen = app_page.evaluate(WATCH_JOB)
    assert seen and seen[-1] == "succeeded 100.0", seen
    active = [e for e in seen if e.split()[0] in ("queued", "running")]
    assert any(0 < float(e.split()[1]) < 100 for e in active if len(e.split()) > 1), seen

    app_page.locator(".hh-job video.hh-video").scroll_into_view_if_needed()
    wait_for_js(app_page, playable(".hh-job video.hh-video", 1), timeout=30)
    assert_plays(app_page.evaluate(PLAY, ".hh-job video.hh-video"))
    save_screenshot(app_page, "marimo_job_widget", "marimo")


def test_sweep_grid_fills_in_and_its_clips_play(app_page: Any, app_server: AppServer) -> None:
    app_page.goto(app_server.url + "/", timeout=60_000)
    grid = app_page.locator(".hh-grid")
    grid.wait_for(timeout=30_000)
    grid.scroll_into_view_if_needed()
    wait_for_js(app_page, playable(".hh-grid video.hh-grid-video", 4), timeout=45)
    assert "4/4 done" in app_page.locator(".hh-grid .hh-grid-progress").inner_text()
    assert_plays(app_page.evaluate(PLAY, ".hh-grid video.hh-grid-video"))
    save_screenshot(app_page, "marimo_grid", "marimo")

