"""An exported report opened from disk in Chromium: every clip plays, nothing leaves the machine."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from hh_notebook.client import Client
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult, sweep

from .helpers import save_screenshot, wait_for_js

pytestmark = pytest.mark.browser

PROMPT = 'a heron <img src=x onerror="window.__hhXss=1"> wading at dusk, frogs croaking'

EVERY_CLIP_PLAYS = """async () => {
  const vs = [...document.querySelectorAll('video')];
  const out = [];
  for (const v of vs) {
    v.muted = true;
    const t0 = v.currentTime;
    await v.play();
    const start = performance.now();
    while (performance.now() - start < 10000) {
      if (v.currentTime > t0 + 0.2 && v.getVideoPlaybackQuality().totalVideoFrames > 0) break;
      await new Promise(r => setTimeout(r, 50));
    }
    v.pause();
    out.push({readyState: v.readyState, width: v.videoWidth, t0, t1: v.currentTime,
              frames: v.getVideoPlaybackQuality().totalVideoFrames, src: v.currentSrc});
  }
  return out;
}"""


@pytest.fixture(scope="module")
def result(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SweepResult]:
    client = Client(provider="segmind", base_url=sandbox.base_url,
                    data_dir=tmp_path_factory.mktemp("report-data"))  # fmt: skip
    try:
        sw = sweep(PROMPT, client=client, seed="701-702", aspect="16:9,9:16", duration=3)
        done = sw.run(budget=5, timeout=120)
        sw.set_rating(done.rows[0].key, 5, "best <b>one</b>")
        yield done.refresh()
    finally:
        client.close()


def _open_offline(chromium: Any, url: str) -> tuple[Any, Any, list[str]]:
    context = chromium.new_context(viewport={"width": 1300, "height": 1600})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    page.goto(url)
    return context, page, requested


@pytest.mark.parametrize("single_file", [False, True])
def test_report_opens_from_disk_and_every_clip_plays(
    chromium: Any, result: SweepResult, tmp_path: pathlib.Path, single_file: bool
) -> None:
    target = tmp_path / ("report.html" if single_file else "report")
    index = result.export_report(target, single_file=single_file)
    context, page, requested = _open_offline(chromium, index.as_uri())
    try:
        wait_for_js(page, "document.querySelectorAll('video').length === 4", timeout=30)
        wait_for_js(
            page,
            "[...document.querySelectorAll('video')].every(v => v.readyState >= 2"
            " && v.videoWidth > 0)",
            timeout=30,
        )
        played = page.evaluate(EVERY_CLIP_PLAYS)
        assert len(played) == 4
        for clip in played:
            assert clip["readyState"] >= 2 and clip["width"] > 0, clip
            assert clip["frames"] > 0 and clip["t1"] > clip["t0"], clip
        wait_for_js(
            page,
            "[...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)",
            timeout=30,
        )
        assert page.evaluate("() => window.__hhXss") is None
        text = page.inner_text("body")
        assert PROMPT in text and "best <b>one</b>" in text
        save_screenshot(page, f"report_single_{single_file}", "test_report_browser")
    finally:
        context.close()
    assert requested, "the page should have loaded its clips"
    leaving = [u for u in requested if not u.startswith(("file://", "data:", "blob:"))]
    assert leaving == [], leaving
    if not single_file:
        assert all(u.startswith("file://") for u in requested), requested
