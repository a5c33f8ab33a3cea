"""Checks that clips really play in a page, for any front end: ready, decoded frames, time
moving on. Selectors reach into shadow roots too (marimo puts each anywidget view in one).

>>> wait_for_js(page, playable(".hh-grid video.hh-grid-video", 4))     # doctest: +SKIP
>>> assert_plays(page.evaluate(PLAY, ".hh-grid video.hh-grid-video"))   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

#: ``deep(selector)``: every match in the page, shadow roots included.
DEEP = """const deep = (selector, root = document, out = []) => {
  root.querySelectorAll(selector).forEach((e) => out.push(e));
  root.querySelectorAll('*').forEach((e) => { if (e.shadowRoot) deep(selector, e.shadowRoot, out); });
  return out;
};"""

#: Plays the videos matching the argument, muted; reports readiness, decoded frames and the
#: time before and after (waits at most 10 s for every one to move on by 0.3 s).
PLAY = f"""async (selector) => {{
  {DEEP}
  const vs = deep(selector);
  const before = vs.map((v) => v.currentTime);
  for (const v of vs) {{ v.muted = true; await v.play().catch(() => {{}}); }}
  const start = performance.now();
  while (performance.now() - start < 10000) {{
    if (vs.every((v, i) => v.currentTime > before[i] + 0.3)) break;
    await new Promise((r) => setTimeout(r, 50));
  }}
  return vs.map((v, i) => ({{ready: v.readyState, width: v.videoWidth, before: before[i],
    after: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames}}));
}}"""


def playable(selector: str, count: int) -> str:
    """A JS check for :func:`~.helpers.wait_for_js`: exactly ``count`` videos match and each
    has decoded enough to show a frame (``readyState >= 2``, a width)."""
    return f"""async () => {{
      {DEEP}
      const vs = deep({selector!r});
      return vs.length === {count} && vs.every((v) => v.readyState >= 2 && v.videoWidth > 0);
    }}"""


def assert_plays(reports: list[dict[str, Any]]) -> None:
    """Every video of a :data:`PLAY` report was ready, decoded frames and moved on in time."""
    assert reports
    for report in reports:
        assert report["ready"] >= 2 and report["width"] > 0, report
        assert report["frames"] > 0, report
        assert report["after"] > report["before"] + 0.3, report
