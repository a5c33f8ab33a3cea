"""How fast a 100-cell comparison grid shows its first screen in JupyterLab, and how many
clips it starts loading.

    .venv/bin/python benchmarks/grid_first_screen.py --append

A sandbox runs in this process (clips cached in ``--cache-dir``); JupyterLab (loopback, no
token) gets it as the Segmind base URL. A first cell runs a 10 × 10 sweep (seed × prompt
variant) to the end; then, in Chromium (1400 × 1000), the script runs the cell
``grid = sw.show()`` and measures, from the key press:

* layout: all 100 panes and their row/column labels are in the page,
* first screen: every pane inside the viewport shows its poster (an image, or the poster of
  a video still loading) or a decodable video,

then waits until no new ``<video>`` appears for one second (bounded) and counts the video
elements the grid created: clips are fetched only for panes that scrolled into view.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import pathlib
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from hh_notebook.sandbox import Sandbox
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.ui.helpers import (
    start_lab,
    wait_for_js,
    wait_kernel_idle,
    write_notebook,
)

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")
HEADING = "## Grid first screen (100 cells in JupyterLab)"
COLOURS = ["red", "blue", "green", "amber", "violet", "teal", "grey", "white", "black", "gold"]
PROMPT = "a red paper lantern drifting over a night river, water lapping"

SETUP = (
    "import hh_notebook as hh\n"
    f"sw = hh.sweep({PROMPT!r}, seed='1-10', prompt_sr={COLOURS!r}, duration=3)\n"
    "result = sw.run(confirm=True, timeout=1200)\n"
    "print('ready', result)"
)
SHOW = "grid = sw.show()"

COUNT_VIDEOS = """() => {
  window.__hhVideos = 0;
  window.__hhLastVideo = performance.now();
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      if (n.nodeType === 1 && (n.matches('video.hh-grid-video') || n.querySelector?.('video.hh-grid-video'))) {
        window.__hhVideos += 1; window.__hhLastVideo = performance.now();
      }
    }
  }).observe(document.body, {childList: true, subtree: true});
}"""

VISIBLE_PLAYABLE = """() => {
  const panes = [...document.querySelectorAll('.hh-grid-pane')];
  const visible = panes.filter(p => { const r = p.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!hit && p.contains(hit); });
  return visible.length > 0 && visible.every(p => {
    const v = p.querySelector('video'); return v && v.readyState >= 2 && v.videoWidth > 0; });
}"""

LAYOUT_DONE = """() => document.querySelectorAll('.hh-grid-pane').length === 100
  && document.querySelectorAll('.hh-grid-rowhead').length === 10
  && document.querySelectorAll('.hh-grid-colhead').length === 10"""

# A pane is on the first screen when its centre is visible (not scrolled or clipped away).
FIRST_SCREEN_DONE = """() => {
  const panes = [...document.querySelectorAll('.hh-grid-pane')];
  if (panes.length !== 100) return false;
  const visible = panes.filter(p => { const r = p.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!hit && p.contains(hit); });
  if (!visible.length) return false;
  // A video still loading shows its poster attribute (the poster blob already shown as an
  // image), so it counts as showing the poster.
  const ready = visible.every(p => {
    const v = p.querySelector('video'); const i = p.querySelector('img.hh-grid-poster');
    return (v && ((v.readyState >= 2 && v.videoWidth > 0) || v.poster.startsWith('blob:')))
      || (i && i.complete && i.naturalWidth > 0);
  });
  return ready ? visible.length : false;
}"""


@contextlib.contextmanager
def jupyter_lab(env_extra: dict[str, str]) -> Iterator[tuple[str, pathlib.Path]]:
    """JupyterLab on a free loopback port with private config dirs (the tests' launcher)."""
    base = pathlib.Path(tempfile.mkdtemp(prefix="hh-bench-lab-"))
    with start_lab(base, env_extra) as lab:
        yield lab.url, lab.root


def run_cell(page: Any, index: int) -> None:
    """Run one cell with Shift+Enter; press again (at most 3 times) if it did not start."""
    cell = page.locator(".jp-CodeCell").nth(index)
    for _ in range(3):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        with contextlib.suppress(PlaywrightTimeout):
            wait_for_js(
                page,
                "(i) => /\\[(\\*|\\d+)\\]/.test(document.querySelectorAll("
                "'.jp-CodeCell .jp-InputPrompt')[i].textContent)",
                timeout=10,
                arg=index,
            )
            return
    raise RuntimeError(f"cell {index} did not start")


def measure(cache_dir: pathlib.Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with Sandbox(time_scale=0.005, cache_dir=cache_dir) as sb, tempfile.TemporaryDirectory() as d:
        env = {"HH_PROVIDER": "segmind", "HH_SEGMIND_BASE_URL": sb.base_url, "HH_DATA_DIR": d,
               "HH_BUDGET": "100"}  # fmt: skip
        with jupyter_lab(env) as (url, root), sync_playwright() as pw:
            write_notebook(root, "grid100.ipynb", [SETUP, SHOW])
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            shot = REPO / "test-artifacts" / "bench_grid_first_screen.png"
            shot.parent.mkdir(exist_ok=True)
            try:
                page.goto(f"{url}/lab/tree/grid100.ipynb?reset")
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
                wait_kernel_idle(page)
                run_cell(page, 0)
                print("running the 100-clip sweep in the kernel…", flush=True)
                wait_for_js(page, "[...document.querySelectorAll('.jp-OutputArea-output')]"
                            ".some(o => o.innerText.includes('ready <SweepResult'))",
                            timeout=float(os.environ.get("HH_BENCH_SETUP_TIMEOUT", "1200")))  # fmt: skip
                wait_kernel_idle(page)
                page.evaluate(COUNT_VIDEOS)
                page.evaluate("() => { window.__hhT0 = performance.now(); }")
                run_cell(page, 1)
                wait_for_js(page, LAYOUT_DONE, timeout=60)
                t_layout = page.evaluate("() => performance.now() - window.__hhT0")
                visible = wait_for_js(page, FIRST_SCREEN_DONE, timeout=60)
                t_first = page.evaluate("() => performance.now() - window.__hhT0")
                wait_for_js(page, VISIBLE_PLAYABLE, timeout=60)
                t_clips = page.evaluate("() => performance.now() - window.__hhT0")
                wait_for_js(page, "performance.now() - window.__hhLastVideo > 1000", timeout=30)
                videos = page.evaluate("() => window.__hhVideos")
                page.screenshot(path=str(shot))
            except Exception:
                page.screenshot(path=str(shot), full_page=True)
                print(f"failed; screenshot in {shot}", flush=True)
                raise
            finally:
                browser.close()
    return {"layout_s": t_layout / 1000, "first_screen_s": t_first / 1000,
            "clips_s": t_clips / 1000,
            "visible_panes": visible, "videos": videos}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache-dir",
        type=pathlib.Path,
        default=pathlib.Path(tempfile.gettempdir()) / "hh-bench-grid-clips",
    )
    parser.add_argument("--append", action="store_true", help="add the figures to RESULTS.md")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    m = measure(args.cache_dir)
    ok = m["first_screen_s"] < 2.0 and m["videos"] < 20
    print(f"layout {m['layout_s']:.2f} s, first screen {m['first_screen_s']:.2f} s, "
          f"clips in view playable {m['clips_s']:.2f} s "
          f"({m['visible_panes']} panes in view), video elements started {m['videos']}: "
          f"{'PASS' if ok else 'FAIL'} (limits < 2 s, < 20)")  # fmt: skip
    if args.append:
        append(m)
    return 0 if ok else 1


def append(m: dict[str, Any]) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if HEADING not in text:
        text += (
            f"\n{HEADING}\n\n"
            "`sw.show()` of a finished 10 × 10 sweep (seed × prompt variant), timed in Chromium "
            "(1400 × 1000) from pressing Shift+Enter: *layout* = 100 panes and all labels in the "
            "page; *first screen* = every pane in the viewport shows its poster or a decodable "
            "video; *clips in view playable* = every pane in view holds a video with "
            "readyState ≥ 2; *videos* = `<video>` elements the grid created once no new one "
            "appeared for 1 s (clips are fetched only for panes in view).\n\n"
            "| date | layout | first screen | clips in view playable | panes in view | "
            "videos started | limits |\n"
            "|---|---:|---:|---:|---:|---:|---|\n"
        )
    row = (f"| {datetime.date.today()} | {m['layout_s']:.2f} s | **{m['first_screen_s']:.2f} s** "
           f"| {m['clips_s']:.2f} s | {m['visible_panes']} | **{m['videos']}** | < 2 s, < 20 |")  # fmt: skip
    lines = text.rstrip("\n").split("\n")
    start = lines.index(HEADING)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    table_end = max(i for i in range(start, end) if lines[i].startswith("|")) + 1
    lines.insert(table_end, row)
    note = ("Command: `.venv/bin/python benchmarks/grid_first_screen.py --append` "
            "(2 shared cores, Debian Chromium, JupyterLab on loopback)")  # fmt: skip
    if note not in lines[start : end + 2]:
        lines[table_end + 1 : table_end + 1] = ["", note]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
