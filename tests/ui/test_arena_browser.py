"""The blind arena in a real JupyterLab + Chromium: a small sweep on the sandbox (started
inside the kernel), ``hh.arena(result)``, nothing in the page naming the clips before a vote,
both clips playing together, votes cast with the keyboard reaching the journal, and the
standings updating, then in the sweep grid's panel."""

from __future__ import annotations

import pathlib

import pytest

from hh_notebook.journal import Journal

from .helpers import JupyterLab, run_all_cells, save_screenshot, wait_for_js, write_notebook

pytestmark = pytest.mark.browser

ANIMALS = ("fox", "owl", "hare")
CELLS = [
    (
        "import hh_notebook as hh\n"
        "sw = hh.sweep('a {animal} crossing a frozen lake at dawn', animal=['fox', 'owl', 'hare'],\n"
        "              seed='48213-48214', duration=3, concurrency=6)\n"
        "result = await sw.run_async(budget=10)\n"
        "print('sweep done', result)"
    ),
    "arena = hh.arena(result, by='animal', voter='ana')\narena",
    "grid = sw.show()\ngrid.show_ranking(arena)",
]

#: The arena's own subtree: its markup and its visible text.
ARENA_PAGE = """() => {
  const out = document.querySelector('.hh-arena').closest('.jp-OutputArea');
  if (!out) return 'no output area';
  return out.outerHTML + '\\n' + out.innerText;
}"""

READY = "document.querySelector('.hh-arena')?.dataset.ready === '1'"

#: Both videos of the pair: what the elements report while playing.
BOTH_PLAYING = """async () => {
  const vs = [...document.querySelectorAll('.hh-arena video.hh-arena-video')];
  const before = vs.map(v => v.currentTime);
  const start = performance.now();
  while (performance.now() - start < 10000) {
    if (vs.every((v, i) => v.currentTime > before[i] + 0.3 || v.currentTime + 0.3 < before[i])) break;
    await new Promise(r => setTimeout(r, 50));
  }
  return vs.map((v, i) => ({readyState: v.readyState, width: v.videoWidth,
    frames: v.getVideoPlaybackQuality().totalVideoFrames, moved: v.currentTime !== before[i],
    paused: v.paused, src: v.currentSrc.slice(0, 5), time: v.currentTime}));
}"""

STATE = """() => {
  const root = document.querySelector('.hh-arena');
  const vs = [...root.querySelectorAll('video.hh-arena-video')];
  return {progress: root.querySelector('.hh-arena-progress').textContent,
          standings: root.querySelector('.hh-arena-standings').innerText,
          revealed: root.querySelector('.hh-arena-revealed').innerText,
          audible: [...root.querySelectorAll('.hh-arena-pane.hh-audible')].map(p => p.dataset.side),
          muted: vs.map(v => v.muted), paused: vs.map(v => v.paused),
          times: vs.map(v => v.currentTime), large: root.classList.contains('hh-arena-large'),
          width: vs[0].clientWidth, focused: root.contains(document.activeElement),
          cells: document.querySelectorAll('.jp-Notebook .jp-Cell').length,
          activeCell: [...document.querySelectorAll('.jp-Notebook .jp-Cell')]
            .findIndex(c => c.classList.contains('jp-mod-active'))};
}"""


def _state(page) -> dict:
    return page.evaluate(STATE)


def _vote(page, key: str, votes: int) -> None:
    """Press ``key`` on the arena once the pair plays; wait for the vote to be counted."""
    wait_for_js(page, READY, timeout=30)
    page.keyboard.press(key)
    wait_for_js(page, f"document.querySelector('.hh-arena-progress').textContent"
                      f".startsWith('{votes} vote')", timeout=30)


def test_arena_votes_with_the_keyboard_blind(
    jupyter_lab: JupyterLab, jupyter_kernel_env: dict[str, str], page
) -> None:
    page.set_viewport_size({"width": 1400, "height": 1600})
    write_notebook(jupyter_lab.root, "arena.ipynb", CELLS)
    jupyter_lab.open(page, "arena.ipynb")
    run_all_cells(page)
    wait_for_js(page, READY, timeout=150)

    # Blind: nothing in the arena's output names what is compared.
    journal = Journal(pathlib.Path(jupyter_kernel_env["HH_DATA_DIR"]) / "journal.sqlite3")
    jobs = [record for record in journal.jobs() if "frozen lake" in record.prompt]
    assert len(jobs) == 6
    secrets = {*ANIMALS, "48213", "48214", "frozen", "lake"}
    secrets |= {record.id for record in jobs} | {record.id[:8] for record in jobs}
    secrets |= {pathlib.Path(record.video_path or "").name for record in jobs}
    shown = page.evaluate(ARENA_PAGE)
    assert [s for s in secrets if s in shown] == []

    # Both clips came as buffers and play together, muted.
    played = page.evaluate(BOTH_PLAYING)
    assert all(v["readyState"] >= 2 and v["width"] > 0 and v["frames"] > 0 for v in played)
    assert all(v["moved"] and not v["paused"] and v["src"] == "blob:" for v in played), played
    save_screenshot(page, "arena_blind", "test_arena_browser")

    # Vote with the keyboard: left, right, a tie with ↓, a skip; the standings follow.
    page.locator(".hh-arena-title").click()
    before = _state(page)
    assert "No votes yet" in _state(page)["standings"]
    _vote(page, "ArrowLeft", 1)
    first = _state(page)["standings"]
    _vote(page, "ArrowRight", 2)
    _vote(page, "ArrowDown", 3)
    _vote(page, "s", 4)
    after = _state(page)
    assert after["progress"].startswith("4 votes (1 skipped) · 1 voter · yours: 4"), after
    assert after["standings"] != first and "interval" in after["standings"], after
    assert [s for s in secrets if s in page.evaluate(ARENA_PAGE)] == []
    votes = journal.votes(f"sweep-{jobs[0].tags['sweep']}")
    assert [(v.outcome, v.voter) for v in votes] == [
        ("left", "ana"), ("right", "ana"), ("tie", "ana"), ("skip", "ana")]

    # Sound on one side at a time; pause and play both; the larger view.
    page.keyboard.press("a")
    wait_for_js(page, "document.querySelectorAll('.hh-arena-pane.hh-audible').length === 1")
    assert _state(page)["audible"] == ["left"] and _state(page)["muted"] == [False, True]
    page.keyboard.press("a")
    assert _state(page)["audible"] == ["right"] and _state(page)["muted"] == [True, False]
    page.keyboard.press("p")
    paused = _state(page)
    assert paused["paused"] == [True, True], paused
    assert abs(paused["times"][0] - paused["times"][1]) < 0.3, paused
    page.keyboard.press("p")
    wait_for_js(page, "[...document.querySelectorAll('.hh-arena video')].every(v => !v.paused)")
    small = _state(page)["width"]
    page.keyboard.press("f")
    large = _state(page)
    assert large["large"] and large["width"] > small * 1.2, (small, large)
    save_screenshot(page, "arena_large", "test_arena_browser")
    page.keyboard.press("Escape")
    still = _state(page)
    assert not still["large"]
    # The notebook kept still: no cell added, none selected by the keys (a, ↓…).
    assert still["focused"], still
    assert (still["cells"], still["activeCell"]) == (before["cells"], before["activeCell"]), still

    # The user's switches: reveal the pair just voted on, name the standings.
    page.locator(".hh-arena input[data-trait='reveal']").check()
    page.locator(".hh-arena input[data-trait='show_ranking']").check()
    page.locator(".hh-arena-title").click()
    _vote(page, "ArrowLeft", 5)
    wait_for_js(page, "document.querySelector('.hh-arena-revealed').innerText.includes('animal:')")
    named = _state(page)
    assert "Last pair: left was better" in named["revealed"], named
    assert sum(a in named["revealed"] for a in ANIMALS) == 2, named
    assert all(a in named["standings"] for a in ANIMALS), named
    save_screenshot(page, "arena_revealed", "test_arena_browser")

    # The grid of the same sweep, run again now, shows the ranking and its heatmap.
    page.locator(".jp-CodeCell").nth(2).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    wait_for_js(page, "document.querySelectorAll('.hh-grid-ranking svg rect').length === 6",
                timeout=60)
    panel = page.evaluate(
        "() => ({summary: document.querySelector('.hh-grid-ranking-summary').innerText,"
        " items: [...document.querySelectorAll('.hh-grid-ranking-label')].map(e => e.textContent)})")
    assert panel["summary"].startswith(
        "Blind ranking by animal · 4 votes · 1 tied · 1 skipped · 1 voter")
    assert sorted(panel["items"]) == sorted(ANIMALS), panel
    page.locator(".hh-grid-ranking").scroll_into_view_if_needed()
    save_screenshot(page, "grid_ranking", "test_arena_browser")
