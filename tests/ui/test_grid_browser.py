"""The comparison grid in a real JupyterLab + Chromium: a 3 × 4 sweep on the sandbox (started
inside the kernel), labels, every clip playing, the shared transport, a rating that survives a
kernel restart."""

from __future__ import annotations

import pytest

from .helpers import (
    JupyterLab,
    cell_output_text,
    run_all_cells,
    save_screenshot,
    wait_cells_done,
    wait_for_js,
    wait_kernel_idle,
    write_notebook,
)

pytestmark = pytest.mark.browser

CELLS = [
    (
        "import hh_notebook as hh\n"
        "sw = hh.sweep('a red fox <b>trots</b> through fresh snow, paws crunching',\n"
        "              seed='1-3', aspect='16:9,9:16,1:1,4:3', duration=3, concurrency=12)\n"
        "grid = sw.show()"
    ),
    "result = await sw.run_async(budget=20)\nprint('sweep done', result)",
    "rows = sw.result().rows\nprint('rating', rows[0].rating, 'note', rows[0].note)",
]

ALL_PLAYABLE = """() => {
  const vs = [...document.querySelectorAll('.hh-grid video.hh-grid-video')];
  return vs.length === 12 && vs.every(v => v.readyState >= 2 && v.videoWidth > 0);
}"""

#: currentTime of every grid video, sampled twice after pressing the shared play button.
PLAY_ALL = """async () => {
  const vs = [...document.querySelectorAll('.hh-grid video.hh-grid-video')];
  const before = vs.map(v => v.currentTime);
  document.querySelector('.hh-grid .hh-grid-play').click();
  const start = performance.now();
  while (performance.now() - start < 10000) {
    if (vs.every((v, i) => v.currentTime > before[i] + 0.3)) break;
    await new Promise(r => setTimeout(r, 50));
  }
  return {before, after: vs.map(v => v.currentTime), paused: vs.map(v => v.paused),
          frames: vs.map(v => v.getVideoPlaybackQuality().totalVideoFrames),
          srcs: vs.map(v => v.currentSrc.slice(0, 5))};
}"""


#: Exercises the shared transport, solo, the larger view and the axis swap; reports states.
TRANSPORT = """async () => {
  const q = (s) => document.querySelector('.hh-grid ' + s);
  const vs = () => [...document.querySelectorAll('.hh-grid video.hh-grid-video')];
  const settle = () => new Promise(r => setTimeout(r, 300));
  q('.hh-grid-play').click();                       // pause all
  const paused = vs().map(v => v.paused);
  const scrub = q('.hh-grid-scrub');
  scrub.value = '500';
  scrub.dispatchEvent(new Event('input'));
  await settle();
  const half = Math.max(...vs().map(v => v.duration)) / 2;
  const scrubbed = vs().map(v => v.currentTime);
  q('.hh-grid-step-fwd').click();
  await settle();
  const stepped = vs().map(v => v.currentTime);
  const speed = q('.hh-grid-speed');
  speed.value = '2';
  speed.dispatchEvent(new Event('change'));
  const loop = q('.hh-grid-loop input');
  loop.checked = false;
  loop.dispatchEvent(new Event('change'));
  document.querySelector(".hh-grid-pane[data-cell-id='0:1-2'] .hh-grid-solo").click();
  const audible = [...document.querySelectorAll('.hh-grid-pane')]
    .filter(p => p.querySelector('video') && !p.querySelector('video').muted)
    .map(p => p.dataset.cellId);
  document.querySelector(".hh-grid-pane[data-cell-id='0:1-2'] .hh-grid-enlarge").click();
  const overlay = {shown: !q('.hh-grid-overlay').hidden,
                   title: q('.hh-grid-overlay-title').textContent};
  q('.hh-grid-overlay-close').click();
  q('.hh-grid-swap').click();
  return {paused, half, scrubbed, stepped, rates: vs().map(v => v.playbackRate),
          loops: vs().map(v => v.loop), audible, overlay};
}"""


def _labels(page) -> dict:
    return page.evaluate(
        "() => ({cols: [...document.querySelectorAll('.hh-grid-colhead')].map(e => e.textContent),"
        " rows: [...document.querySelectorAll('.hh-grid-rowhead')].map(e => e.textContent),"
        " fixed: document.querySelector('.hh-grid-fixed').innerText})"
    )


def test_sweep_grid_plays_together_and_keeps_ratings(jupyter_lab: JupyterLab, page) -> None:
    page.set_viewport_size({"width": 1500, "height": 2400})
    write_notebook(jupyter_lab.root, "grid.ipynb", CELLS)
    jupyter_lab.open(page, "grid.ipynb")
    run_all_cells(page)
    wait_for_js(page, "document.querySelectorAll('.hh-grid-pane').length === 12", timeout=60)
    labels = _labels(page)
    assert labels["cols"] == ["16:9", "9:16", "1:1", "4:3"]
    assert labels["rows"] == ["1", "2", "3"]
    assert "duration" in labels["fixed"] and "fresh snow" in labels["fixed"]
    assert "<b>trots</b>" in labels["fixed"]  # user text shown as text
    wait_cells_done(page, count=3, timeout=150)
    assert "sweep done" in cell_output_text(page, 1)
    wait_for_js(page, ALL_PLAYABLE, timeout=60)

    played = page.evaluate(PLAY_ALL)
    assert all(a > b + 0.3 for a, b in zip(played["after"], played["before"])), played
    assert not any(played["paused"]), played
    assert all(f > 0 for f in played["frames"]), played
    assert set(played["srcs"]) == {"blob:"}, played
    save_screenshot(page, "grid_playing", "test_grid_browser")

    controls = page.evaluate(TRANSPORT)
    assert controls["paused"] == [True] * 12, controls
    assert all(abs(t - controls["half"]) < 0.05 for t in controls["scrubbed"]), controls
    assert all(abs(t - controls["half"] - 1 / 24) < 0.02 for t in controls["stepped"]), controls
    assert set(controls["rates"]) == {2}, controls
    assert controls["loops"] == [False] * 12, controls
    assert controls["audible"] == ["0:1-2"], controls
    assert controls["overlay"] == {"shown": True, "title": "seed: 2 · aspect_ratio: 1:1"}
    swapped = _labels(page)
    assert swapped["cols"] == ["1", "2", "3"] and swapped["rows"] == ["16:9", "9:16", "1:1", "4:3"]
    wait_for_js(page, ALL_PLAYABLE, timeout=30)  # the same players, moved

    # Rate the first clip 4 of 5 with a note; the kernel writes it to the journal.
    pane = page.locator(".hh-grid-pane[data-cell-id='0:0-0']")
    note = pane.locator(".hh-grid-note")
    note.fill("sharp <i>tail</i>")
    note.press("Enter")
    pane.locator(".hh-grid-rate[data-value='4']").click()
    wait_for_js(
        page,
        "document.querySelectorAll(\".hh-grid-pane[data-cell-id='0:0-0'] .hh-grid-rate.hh-on\")"
        ".length === 4",
        timeout=30,
    )

    # Restart the kernel and run everything again: the rating comes back from the journal.
    sessions = jupyter_lab.api("/api/sessions")
    kernel_id = next(s["kernel"]["id"] for s in sessions if s["path"].endswith("grid.ipynb"))
    jupyter_lab.api(f"/api/kernels/{kernel_id}/restart", method="POST")
    wait_kernel_idle(page)
    # Mark the old view: only a grid rendered by the new kernel counts below.
    page.evaluate("() => document.querySelectorAll('.hh-grid').forEach(g => g.dataset.old = '1')")
    run_all_cells(page)
    wait_for_js(
        page,
        "[...document.querySelectorAll('.jp-OutputArea-output')]"
        ".some(o => o.innerText.includes('rating 4 note sharp <i>tail</i>'))",
        timeout=120,
    )
    wait_for_js(
        page,
        "document.querySelectorAll(\".hh-grid:not([data-old]) .hh-grid-pane[data-cell-id='0:0-0']"
        ' .hh-grid-rate.hh-on").length === 4',
        timeout=30,
    )
    note_value = page.evaluate(
        "() => document.querySelector(\".hh-grid:not([data-old]) .hh-grid-pane[data-cell-id='0:0-0']"
        ' .hh-grid-note").value'
    )
    assert note_value == "sharp <i>tail</i>"
    save_screenshot(page, "grid_after_restart", "test_grid_browser")


COMPARE_CELLS = [
    (
        "import hh_notebook as hh\n"
        "from hh_notebook.widgets.grid import compare\n"
        "a = hh.sweep('a heron at dawn', aspect_ratio='16:9,9:16', duration=3)\n"
        "b = hh.sweep('a heron at dawn', aspect_ratio='16:9,9:16', duration=3, provider='hiapi')\n"
        "ra = a.run(budget=5)\n"
        "rb = b.run(confirm=True)\n"
        "compare(ra, rb, labels=('segmind', 'hiapi'))"
    ),
]


def test_compare_shows_two_providers_side_by_side(jupyter_lab: JupyterLab, page) -> None:
    write_notebook(jupyter_lab.root, "compare.ipynb", COMPARE_CELLS)
    jupyter_lab.open(page, "compare.ipynb")
    run_all_cells(page)
    wait_for_js(page, "document.querySelectorAll('.hh-grid-pane').length === 4", timeout=120)
    wait_for_js(
        page,
        "[...document.querySelectorAll('.hh-grid video.hh-grid-video')].filter(v =>"
        " v.readyState >= 2 && v.videoWidth > 0).length === 4",
        timeout=60,
    )
    slots = page.evaluate(
        "() => [...document.querySelectorAll('.hh-grid-cell')].map(c =>"
        " [...c.querySelectorAll('.hh-grid-side')].map(s => s.textContent))"
    )
    assert slots == [["segmind", "hiapi"], ["segmind", "hiapi"]]
    assert _labels(page)["cols"] == ["16:9", "9:16"]
    progress = page.inner_text(".hh-grid-progress")
    assert "segmind: 2/2 done · sandbox — not paid" in progress  # never summed as money
    assert "hiapi: 2/2 done · sandbox — not paid" in progress
    save_screenshot(page, "compare", "test_grid_browser")
