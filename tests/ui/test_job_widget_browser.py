"""The job widget, the magic and the playground in a real JupyterLab + Chromium, with the
sandbox (auto-started inside the kernel: no key is set) as the provider."""

from __future__ import annotations

import time

import pytest

from .helpers import (
    JupyterLab,
    run_all_cells,
    save_screenshot,
    wait_for_js,
    write_notebook,
)

pytestmark = pytest.mark.browser

#: Samples the progress bar of the first job widget every 50 ms into window.__hhProgress.
SAMPLE_PROGRESS = """() => {
  window.__hhProgress = [];
  window.__hhSampler = setInterval(() => {
    const bar = document.querySelector('.hh-job .hh-progress');
    const job = document.querySelector('.hh-job');
    if (bar && job) window.__hhProgress.push([job.dataset.status, bar.dataset.progress]);
  }, 50);
}"""

#: Plays the first job widget's clip muted; resolves to what the element reports.
PLAY_AND_MEASURE = """async () => {
  const v = document.querySelector('.hh-job video');
  v.muted = true;
  const t0 = v.currentTime;
  await v.play();
  const start = performance.now();
  while (performance.now() - start < 10000) {
    if (v.currentTime > t0 + 0.3 && v.getVideoPlaybackQuality().totalVideoFrames > 0) break;
    await new Promise(r => setTimeout(r, 50));
  }
  return {readyState: v.readyState, videoWidth: v.videoWidth, videoHeight: v.videoHeight,
          frames: v.getVideoPlaybackQuality().totalVideoFrames, t0, t1: v.currentTime,
          src: v.currentSrc, duration: v.duration, poster: v.poster};
}"""

CLIP_READY = """() => {
  const v = document.querySelector('.hh-job video');
  return !!v && v.readyState >= 2 && v.videoWidth > 0;
}"""


def _assert_plays(page) -> dict:
    wait_for_js(page, CLIP_READY, timeout=60)
    measured = page.evaluate(PLAY_AND_MEASURE)
    assert measured["readyState"] >= 2, measured
    assert measured["videoWidth"] > 0 and measured["videoHeight"] > 0, measured
    assert measured["frames"] > 0, measured
    assert measured["t1"] > measured["t0"], measured
    # The clip came as binary buffers and plays from a Blob URL, not from a synced trait.
    assert measured["src"].startswith("blob:"), measured
    return measured


def test_magic_cell_shows_progress_then_a_playing_clip(jupyter_lab: JupyterLab, page) -> None:
    started = time.monotonic()
    write_notebook(
        jupyter_lab.root,
        "magic.ipynb",
        [
            "%load_ext hh_notebook",
            (
                "%%happyhorse -d 3 -s 5 -o clip\nA white horse gallops along a beach at dawn, "
                "waves crashing, gulls calling."
            ),
            "print('next cell ran while the job was', clip.status.value)",
        ],
    )
    jupyter_lab.open(page, "magic.ipynb")
    page.evaluate(SAMPLE_PROGRESS)
    run_all_cells(page)
    # Non-blocking: the cell after the magic runs while the job is still going.
    wait_for_js(page, "document.querySelector('.hh-job') !== null", timeout=60)
    wait_for_js(
        page,
        "[...document.querySelectorAll('.jp-OutputArea-output')]"
        ".some(o => o.innerText.includes('next cell ran while the job was'))",
        timeout=60,
    )
    wait_for_js(
        page, "document.querySelector('.hh-job').dataset.status === 'succeeded'", timeout=90
    )
    samples = page.evaluate(
        "() => { clearInterval(window.__hhSampler); return window.__hhProgress; }"
    )
    running = [float(p) for s, p in samples if s in ("queued", "running") and p not in ("", None)]
    assert len(set(running)) >= 2, samples[:40]
    assert max(running) > min(running), running
    final = page.evaluate("() => document.querySelector('.hh-job .hh-progress').dataset.progress")
    assert final == "100.0"

    measured = _assert_plays(page)
    assert (measured["videoWidth"], measured["videoHeight"]) == (1280, 720)
    assert measured["poster"].startswith("blob:")
    texts = page.evaluate(
        "() => { const j = document.querySelector('.hh-job'); return {"
        " header: j.querySelector('.hh-job-header').innerText,"
        " prompt: j.querySelector('.hh-prompt').textContent,"
        " facts: j.querySelector('.hh-facts').innerText,"
        " download: j.querySelector('.hh-download').getAttribute('download') }; }"
    )
    assert "T2V" in texts["header"] and "segmind" in texts["header"] and "$0.42" in texts["header"]
    assert texts["prompt"].startswith("A white horse gallops")
    assert "seed 5" in texts["facts"] and "cost sandbox — not paid" in texts["facts"]
    assert texts["download"].endswith(".mp4")
    save_screenshot(page, "magic_cell_playing", "test_magic_cell")

    # Saved from the browser, the notebook holds the finished static view (refreshed in place
    # when the job ended) and no clip bytes.
    page.keyboard.press("Control+s")
    fetch_saved = """async () => {
      const r = await fetch('/api/contents/magic.ipynb?content=1&type=notebook');
      // Mid-save the server may answer without the content yet: ask again on the next poll.
      if (!r.ok) return '';
      return JSON.stringify((await r.json()).content || '');
    }"""
    wait_for_js(
        page,
        f"async () => (await ({fetch_saved})()).includes('hh-static-video')",
        timeout=30,
    )
    saved = page.evaluate(fetch_saved)
    assert "data:image/jpeg;base64," in saved and "data:video" not in saved
    assert (jupyter_lab.root / "magic.ipynb").stat().st_size < 50_000
    assert time.monotonic() - started < 120


def test_playground_form_renders_a_playing_clip(jupyter_lab: JupyterLab, page) -> None:
    write_notebook(
        jupyter_lab.root,
        "form.ipynb",
        ["from hh_notebook.widgets.playground import Playground\nform = Playground()\nform"],
    )
    jupyter_lab.open(page, "form.ipynb")
    run_all_cells(page)
    prompt = page.locator(".hh-playground textarea").first
    prompt.wait_for(timeout=60_000)
    render = page.locator(".hh-playground button", has_text="Render")
    # Empty prompt: the form says what is missing and Render is disabled.
    wait_for_js(page, "!!document.querySelector('.hh-playground .hh-problems')", timeout=30)
    assert render.is_disabled()
    prompt.fill("A chestnut foal <b>splashes</b> through a stream, birdsong")
    wait_for_js(page, "!document.querySelector('.hh-playground .hh-problems')", timeout=30)
    seed = page.locator(".hh-playground input[type=text]").first
    seed.fill("9")
    seed.press("Enter")
    assert "estimated" in page.locator(".hh-playground .hh-cost").inner_text()
    render.click()
    wait_for_js(page, "document.querySelector('.hh-playground .hh-job') !== null", timeout=30)
    wait_for_js(
        page, "document.querySelector('.hh-job').dataset.status === 'succeeded'", timeout=90
    )
    _assert_plays(page)
    assert page.locator(".hh-job .hh-prompt").text_content() == (
        "A chestnut foal <b>splashes</b> through a stream, birdsong"
    )
    save_screenshot(page, "playground_playing", "test_playground")


XSS_PROMPT = '<img src=x onerror="window.__hhXss = 1"> a horse <script>window.__hhXss = 2</script>'


def test_prompt_markup_renders_as_text_and_never_runs(jupyter_lab: JupyterLab, page) -> None:
    write_notebook(
        jupyter_lab.root,
        "xss.ipynb",
        [
            "%load_ext hh_notebook",
            f"%%happyhorse -d 3 -s 6\n{XSS_PROMPT}",
            f"%%happyhorse -d 3 --dry-run\n{XSS_PROMPT}",
        ],
    )
    jupyter_lab.open(page, "xss.ipynb")
    run_all_cells(page)
    wait_for_js(page, "document.querySelector('.hh-job-static') !== null", timeout=60)
    wait_for_js(
        page, "document.querySelector('.hh-job')?.dataset.status === 'succeeded'", timeout=90
    )
    state = page.evaluate(
        "() => ({ flag: window.__hhXss,"
        " widgetText: document.querySelector('.hh-job .hh-prompt').textContent,"
        " staticText: document.querySelector('.hh-job-static').innerText,"
        " imgs: document.querySelectorAll('.hh-job img, .hh-job-static img[src=x]').length,"
        " scripts: document.querySelectorAll('.hh-job script, .hh-job-static script').length })"
    )
    assert state["flag"] is None, state
    assert state["widgetText"] == XSS_PROMPT
    assert "<img src=x" in state["staticText"]
    assert state["imgs"] == 0 and state["scripts"] == 0, state
    save_screenshot(page, "xss_prompt_as_text", "test_xss")


def test_playground_reference_uploads_show_thumbnails_and_switch_mode(
    jupyter_lab: JupyterLab, page, tmp_path
) -> None:
    from PIL import Image

    files = []
    for i, colour in enumerate(("red", "blue")):
        path = tmp_path / f"ref{i + 1}.png"
        Image.new("RGB", (640, 360), colour).save(path)
        files.append(str(path))
    write_notebook(
        jupyter_lab.root,
        "form_refs.ipynb",
        ["from hh_notebook.widgets.playground import Playground\nPlayground(provider='sandbox')"],
    )
    jupyter_lab.open(page, "form_refs.ipynb")
    run_all_cells(page)
    page.locator(".hh-playground textarea").first.wait_for(timeout=60_000)
    page.locator(".hh-playground textarea").first.fill("[Image 1] chases [Image 2] in a field")
    with page.expect_file_chooser() as chooser:
        page.locator(".hh-playground button", has_text="References").click()
    chooser.value.set_files(files)
    wait_for_js(
        page,
        "document.querySelectorAll('.hh-playground img').length === 2"
        " && document.querySelector('.hh-playground .hh-cost').innerText"
        ".includes('reference-to-video')",
        timeout=30,
    )
    labels = page.locator(".hh-playground .widget-label").all_inner_texts()
    assert any("[Image 1] ref1.png" in t for t in labels)
    assert any("[Image 2] ref2.png" in t for t in labels)
    assert not page.locator(".hh-playground button", has_text="Render").is_disabled()
    save_screenshot(page, "playground_references", "test_playground")


def test_failed_job_shows_the_reason_and_retry_brings_a_clip(jupyter_lab: JupyterLab, page) -> None:
    write_notebook(
        jupyter_lab.root,
        "retry.ipynb",
        [
            (
                "%load_ext hh_notebook\nfrom hh_notebook.config import local_sandbox\n"
                "local_sandbox().add_fault({'provider': 'segmind', 'endpoint': 'submit',"
                " 'kind': 'fail_job'})"
            ),
            "%%happyhorse -d 3 -s 7\nA horse the sandbox will refuse once",
        ],
    )
    jupyter_lab.open(page, "retry.ipynb")
    run_all_cells(page)
    wait_for_js(page, "document.querySelector('.hh-job')?.dataset.status === 'failed'", timeout=90)
    message = page.locator(".hh-job .hh-message").inner_text()
    assert "policy" in message.lower(), message
    retry = page.locator(".hh-job .hh-retry")
    assert retry.is_visible() and not page.locator(".hh-job .hh-reconcile").is_visible()
    save_screenshot(page, "failed_with_retry", "test_retry")
    retry.click()
    wait_for_js(
        page, "document.querySelector('.hh-job').dataset.status === 'succeeded'", timeout=90
    )
    _assert_plays(page)
    assert not page.locator(".hh-job .hh-retry").is_visible()


def test_clip_loads_only_once_the_widget_is_on_screen(jupyter_lab: JupyterLab, page) -> None:
    write_notebook(
        jupyter_lab.root,
        "lazy.ipynb",
        [
            "%load_ext hh_notebook",
            # Not blocking: the spacer below renders (and is scrolled to) while the job runs.
            "%%happyhorse -d 3 -s 9\nA horse far above the fold",
            'from IPython.display import HTML\nHTML(\'<div id="spacer" style="height:4000px">x</div>\')',
        ],
    )
    jupyter_lab.open(page, "lazy.ipynb")
    run_all_cells(page)
    wait_for_js(page, "document.querySelector('#spacer') !== null", timeout=90)
    page.evaluate("() => document.querySelector('#spacer').scrollIntoView({block: 'end'})")
    wait_for_js(
        page, "document.querySelector('.hh-job')?.dataset.status === 'succeeded'", timeout=90
    )
    offscreen = page.evaluate(
        "() => { const j = document.querySelector('.hh-job'); const r = j.getBoundingClientRect();"
        " return {visible: r.bottom > 0 && r.top < innerHeight,"
        " src: j.querySelector('video').getAttribute('src'),"
        " note: j.querySelector('.hh-player-note').textContent}; }"
    )
    assert not offscreen["visible"], offscreen
    assert offscreen["src"] is None and "on screen" in offscreen["note"], offscreen
    page.evaluate("() => document.querySelector('.hh-job').scrollIntoView()")
    _assert_plays(page)


def test_unknown_submit_says_so_and_reconcile_finds_the_job(jupyter_lab: JupyterLab, page) -> None:
    write_notebook(
        jupyter_lab.root,
        "reconcile.ipynb",
        [
            (
                "%load_ext hh_notebook\nfrom hh_notebook.config import local_sandbox\n"
                "local_sandbox().add_fault({'provider': 'hiapi', 'endpoint': 'submit',"
                " 'kind': 'reset_after'})"
            ),
            "%%happyhorse --provider hiapi --sandbox -d 3\nA horse whose receipt was lost",
        ],
    )
    jupyter_lab.open(page, "reconcile.ipynb")
    run_all_cells(page)
    wait_for_js(page, "document.querySelector('.hh-job')?.dataset.status === 'unknown'", timeout=90)
    assert "Reconcile" in page.locator(".hh-job .hh-message").inner_text()
    reconcile = page.locator(".hh-job .hh-reconcile")
    assert reconcile.is_visible() and not page.locator(".hh-job .hh-retry").is_visible()
    save_screenshot(page, "unknown_with_reconcile", "test_reconcile")
    reconcile.click()
    wait_for_js(
        page, "document.querySelector('.hh-job').dataset.status === 'succeeded'", timeout=90
    )
    _assert_plays(page)
    assert page.locator(".hh-job .hh-jobid-text").inner_text().startswith("tk-")
