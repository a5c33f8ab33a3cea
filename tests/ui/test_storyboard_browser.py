"""A storyboard in a real JupyterLab + Chromium, on the sandbox: the strip fills in live, the
stitched scene plays, and regenerating the last shot from the strip brings a new scene."""

from __future__ import annotations

import pytest

from .helpers import JupyterLab, run_all_cells, save_screenshot, wait_for_js, write_notebook

pytestmark = pytest.mark.browser

#: Plays the strip's scene muted; resolves to what the element reports.
PLAY_AND_MEASURE = """async () => {
  const v = document.querySelector('.hh-storyboard .hh-sb-video');
  v.muted = true;
  const t0 = v.currentTime;
  await v.play();
  const start = performance.now();
  while (performance.now() - start < 10000) {
    if (v.currentTime > t0 + 0.3 && v.getVideoPlaybackQuality().totalVideoFrames > 0) break;
    await new Promise(r => setTimeout(r, 50));
  }
  v.pause();
  return {readyState: v.readyState, videoWidth: v.videoWidth, videoHeight: v.videoHeight,
          frames: v.getVideoPlaybackQuality().totalVideoFrames, t0, t1: v.currentTime,
          src: v.currentSrc, duration: v.duration};
}"""

SCENE_READY = """(previous) => {
  const v = document.querySelector('.hh-storyboard .hh-sb-video');
  return !!v && !!v.currentSrc && v.currentSrc !== previous && v.readyState >= 2
    && v.videoWidth > 0;
}"""

SHOTS = """() => [...document.querySelectorAll('.hh-storyboard .hh-sb-shot')].map(s => ({
  status: s.dataset.status, facts: s.querySelector('.hh-sb-facts').textContent,
  link: s.querySelector('.hh-sb-link').textContent,
  thumb: !!s.querySelector('.hh-sb-thumb img')?.src?.startsWith('blob:')}))"""


def _assert_plays(page, previous: str = "") -> dict:
    """The scene plays (once it is another clip than ``previous``, a Blob URL)."""
    wait_for_js(page, SCENE_READY, timeout=60, arg=previous)
    measured = page.evaluate(PLAY_AND_MEASURE)
    assert measured["readyState"] >= 2, measured
    assert (measured["videoWidth"], measured["videoHeight"]) == (1280, 720), measured
    assert measured["frames"] > 0, measured
    assert measured["t1"] > measured["t0"], measured
    assert measured["src"].startswith("blob:"), measured  # bytes sent on request, not a trait
    return measured


def test_the_stitched_scene_plays_and_a_shot_regenerates_from_the_strip(
        jupyter_lab: JupyterLab, page) -> None:
    write_notebook(jupyter_lab.root, "storyboard.ipynb", [
        "%load_ext hh_notebook",
        ("%%happyhorse --storyboard -d 3 -o board\n"
         "A chestnut foal wakes in the straw at dawn\n---\n"
         "The foal stands up on shaky legs\n---\n"
         "The foal trots out of the stable into the sun"),
    ])
    jupyter_lab.open(page, "storyboard.ipynb")
    run_all_cells(page)
    wait_for_js(page, "document.querySelectorAll('.hh-storyboard .hh-sb-shot').length === 3",
                timeout=60)
    wait_for_js(page, "document.querySelector('.hh-storyboard')?.dataset.scene === 'ready'",
                timeout=180)
    measured = _assert_plays(page)
    assert abs(measured["duration"] - (3 * 72 - 2) / 24) < 0.1, measured  # 2 frames dropped
    wait_for_js(page, f"({SHOTS})().every(s => s.thumb)", timeout=30)
    shots = page.evaluate(SHOTS)
    assert [s["status"] for s in shots] == ["succeeded"] * 3
    assert [s["link"] for s in shots] == ["starts afresh", "↳ from shot 1", "↳ from shot 2"]
    assert all("sandbox — not paid" in s["facts"] for s in shots)  # never shown as money
    first_src = measured["src"]
    save_screenshot(page, "storyboard_scene_playing", "test_storyboard")

    # Regenerate the last shot: the cost first, then a new take and a new scene.
    page.locator(".hh-storyboard .hh-sb-shot").nth(2).locator(".hh-sb-regenerate").click()
    wait_for_js(page, "document.querySelector('.hh-sb-confirm')?.style.display !== 'none'"
                " && document.querySelector('.hh-sb-confirm-text').textContent"
                ".includes('shot 3')", timeout=30)
    confirm = page.locator(".hh-storyboard .hh-sb-confirm-text").inner_text()
    assert "$0.42" in confirm and "shots 2" not in confirm, confirm
    page.locator(".hh-storyboard .hh-sb-confirm-yes").click()
    wait_for_js(page, f"({SHOTS})()[2]?.facts.includes('take 2')", timeout=180)
    wait_for_js(page, "document.querySelector('.hh-storyboard')?.dataset.scene === 'ready'",
                timeout=120)
    again = _assert_plays(page, previous=first_src)
    assert abs(again["duration"] - measured["duration"]) < 0.1, again
    shots = page.evaluate(SHOTS)
    assert "take" not in shots[0]["facts"] and "take" not in shots[1]["facts"]
    save_screenshot(page, "storyboard_regenerated", "test_storyboard")
