"""Showing a job where no live widget can: a text progress line and a static HTML page.

Two audiences:

* **Plain Python** (a script, a terminal): :class:`TextProgress` prints one line that is
  rewritten in place (``\\r``) as the job moves, and a final line when it ends.
* **Exported notebooks** (``nbconvert --to html``, nbviewer, GitHub): the job widget's mime
  bundle carries :func:`static_html` next to the widget view — a small poster frame embedded as
  a JPEG data URI and a ``<video>`` whose ``src`` points at the local clip relative to the
  notebook, or a plain note when the file is not there.

:func:`show` picks the right one: a widget inside a Jupyter kernel, a progress line elsewhere.

>>> from hh_notebook.display import show            # doctest: +SKIP
>>> job = show(client.generate_async(request))      # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io
import os
import pathlib
import sys
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = [
    "JobSnapshot",
    "TextProgress",
    "clip_src",
    "format_seconds",
    "in_kernel",
    "show",
    "small_poster",
    "static_html",
]

#: Width in pixels of the poster frame embedded in exported HTML (kept small: it lives in
#: the .ipynb file).
POSTER_WIDTH = 320
POSTER_QUALITY = 70

STATUS_WORDS = {
    "validating": "checking the request",
    "submitting": "submitting",
    "queued": "queued",
    "running": "generating",
    "downloading": "downloading the clip",
    "succeeded": "done",
    "failed": "failed",
    "expired": "expired",
    "unknown": "submit outcome unknown",
    "dry_run": "dry run: nothing submitted",
    "cancelled": "no longer tracked",
}


def format_seconds(seconds: float | None) -> str:
    """``75.2`` → ``"1m 15s"``; ``None`` → ``"–"``.

    >>> format_seconds(75.2), format_seconds(4), format_seconds(None)
    ('1m 15s', '4s', '–')
    """
    if seconds is None:
        return "–"
    s = max(0, round(seconds))
    minutes, rest = divmod(s, 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


@dataclass
class JobSnapshot:
    """What a static view of a job shows; built by the job widget from its current state."""

    status: str
    prompt: str = ""
    negative_prompt: str = ""
    mode: str = ""
    provider: str = ""
    model: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    estimate: str = ""
    cost: str = ""
    seed: int | None = None
    provider_job_id: str = ""
    message: str = ""
    video_path: pathlib.Path | None = None
    progress: float | None = None
    elapsed: float | None = None


def in_kernel() -> bool:
    """True inside a Jupyter kernel (where widgets can render), False in scripts/terminals."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def clip_src(
    video_path: os.PathLike[str] | str, base_dir: os.PathLike[str] | str | None = None
) -> str:
    """URL of the clip for an HTML page saved in ``base_dir`` (default: the working directory,
    which is the notebook's folder in a Jupyter kernel): a relative, percent-encoded path.

    >>> clip_src("/data/clips/a b.mp4", "/data/notebooks")
    '../clips/a%20b.mp4'
    """
    base = pathlib.Path(base_dir) if base_dir is not None else pathlib.Path.cwd()
    try:
        rel = os.path.relpath(os.fspath(video_path), os.fspath(base))
    except ValueError:  # another drive on Windows: no relative path exists
        return pathlib.Path(video_path).resolve().as_uri()
    return urllib.parse.quote(pathlib.PurePath(rel).as_posix())


_poster_cache: dict[tuple[str, int, int], bytes] = {}


def small_poster(video_path: os.PathLike[str] | str, width: int = POSTER_WIDTH) -> bytes:
    """A small JPEG of the clip's middle frame (``width`` px wide), cached per file version."""
    from PIL import Image

    from .media import poster_frame

    path = pathlib.Path(video_path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, width)
    if key not in _poster_cache:
        img = Image.open(io.BytesIO(poster_frame(path, at=0.5)))
        height = max(1, round(img.height * width / img.width))
        img = img.convert("RGB").resize((width, height))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=POSTER_QUALITY, optimize=True)
        _poster_cache[key] = buf.getvalue()
    return _poster_cache[key]


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


_STATIC_OPEN = (
    '<div class="hh-job-static" style="font-family:sans-serif;max-width:860px;'
    'border:1px solid #ccc;border-radius:6px;padding:8px 10px">'
)


def static_html(snap: JobSnapshot, *, base_dir: os.PathLike[str] | str | None = None) -> str:
    """A self-contained HTML view of a job for exported notebooks. Every user text is escaped.

    With a finished clip on disk: the poster frame (a JPEG data URI, about 10–20 KB) and a
    ``<video controls>`` pointing at the clip relative to ``base_dir``. Without one: the status
    and, where there is one, the reason in plain words.
    """
    parts = [_STATIC_OPEN]
    head = " · ".join(
        x
        for x in (
            snap.mode.upper(),
            snap.provider,
            f"HappyHorse {snap.model}" if snap.model else "",
        )
        if x
    )
    status = STATUS_WORDS.get(snap.status, snap.status)
    parts.append(
        f'<div><b>{_esc(head)}</b> — <span class="hh-static-status">{_esc(status)}</span></div>'
    )
    if snap.prompt:
        parts.append(f'<div style="white-space:pre-wrap;margin:4px 0">{_esc(snap.prompt)}</div>')
    if snap.negative_prompt:
        parts.append(f'<div style="color:#666">avoid: {_esc(snap.negative_prompt)}</div>')
    facts = [f"{_esc(k)}: {_esc(v)}" for k, v in snap.params.items() if v not in (None, "")]
    if snap.estimate:
        facts.append(f"estimate {_esc(snap.estimate)}")
    if snap.cost:
        facts.append(f"cost {_esc(snap.cost)}")
    if snap.provider_job_id:
        facts.append(f"provider job id <code>{_esc(snap.provider_job_id)}</code>")
    if facts:
        parts.append(f'<div style="color:#555;font-size:90%">{" · ".join(facts)}</div>')
    if snap.message:
        parts.append(f'<div style="color:#b00020;white-space:pre-wrap">{_esc(snap.message)}</div>')
    video = snap.video_path
    if snap.status == "succeeded" and video is not None and pathlib.Path(video).is_file():
        src = _esc(clip_src(video, base_dir))
        poster_attr = ""
        try:
            jpeg = small_poster(video)
        except Exception:  # noqa: BLE001 - a missing poster must not hide the clip link
            jpeg = b""
        if jpeg:
            uri = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
            poster_attr = f' poster="{uri}"'
            parts.append(
                f'<video class="hh-static-video" controls loop preload="none" width="{POSTER_WIDTH * 2}"'
                f' style="max-width:100%" src="{src}"{poster_attr}>'
                f'<img class="hh-static-poster" src="{uri}" alt="poster frame of the clip"></video>'
            )
        else:
            parts.append(
                f'<video class="hh-static-video" controls loop preload="none" src="{src}"></video>'
            )
        parts.append(
            f'<div style="font-size:85%"><a href="{src}">{_esc(pathlib.Path(video).name)}</a></div>'
        )
    elif snap.status == "succeeded":
        parts.append(
            '<div style="color:#666">The clip file is not available on this machine.</div>'
        )
    elif snap.status not in ("failed", "expired", "unknown", "dry_run"):
        parts.append(
            '<div style="color:#666">The clip was not ready when this output was saved; '
            "re-run the cell (the journal serves a paid clip without paying again).</div>"
        )
    parts.append("</div>")
    return "".join(parts)


class TextProgress:
    """One status line for plain Python, rewritten in place while a job runs.

    Subscribe it to a job (``job.subscribe(TextProgress())``) or call :meth:`update` yourself::

        queued   ·  12% · elapsed 4s · about 30s left
    """

    def __init__(self, stream: TextIO | None = None, *, label: str = "happyhorse") -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self._width = 0
        self._closed = False

    def line(
        self,
        status: str,
        progress: float | None,
        elapsed: float | None,
        eta: float | None,
        message: str | None = None,
    ) -> str:
        """The text for one state (no line ending)."""
        words = STATUS_WORDS.get(status, status)
        pieces = [f"{self.label}: {words}"]
        if progress is not None:
            pieces.append(f"{max(0.0, min(progress, 1.0)) * 100:3.0f}%")
        if elapsed is not None:
            pieces.append(f"elapsed {format_seconds(elapsed)}")
        if eta is not None and status in ("queued", "running"):
            pieces.append(f"about {format_seconds(eta)} left")
        if message:
            pieces.append(message)
        return " · ".join(pieces)

    def update(
        self,
        status: str,
        progress: float | None = None,
        elapsed: float | None = None,
        eta: float | None = None,
        message: str | None = None,
        *,
        final: bool = False,
    ) -> None:
        """Rewrite the line; ``final=True`` ends it with a newline (later updates are ignored)."""
        if self._closed:
            return
        text = self.line(status, progress, elapsed, eta, message)
        pad = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + pad + ("\n" if final else ""))
        self.stream.flush()
        self._closed = final

    def __call__(self, event: Any) -> None:
        """Job event callback: ``job.subscribe(TextProgress())``."""
        status = _status_value(getattr(event, "status", ""))
        self.update(
            status,
            normalise_progress(getattr(event, "progress", None)),
            getattr(event, "elapsed", None),
            getattr(event, "eta", None),
            getattr(event, "message", None),
            final=status in ("succeeded", "failed", "expired", "unknown"),
        )


def _status_value(status: object) -> str:
    return str(getattr(status, "value", status) or "")


def normalise_progress(progress: float | None) -> float | None:
    """Progress as a fraction 0–1 whether the source gave 0–1 or a percentage 0–100."""
    if progress is None:
        return None
    value = float(progress)
    return value / 100.0 if value > 1.0 else value


def show(job: Any, *, client: Any = None) -> Any:
    """Show ``job``: a live :class:`~hh_notebook.widgets.job.JobWidget` in a Jupyter kernel,
    a :class:`TextProgress` line elsewhere. Returns the widget, or the job in plain Python."""
    if in_kernel():
        from IPython.display import display

        from .widgets.job import JobWidget

        widget = JobWidget(job, client=client)
        display(widget)
        return widget
    progress = TextProgress()
    job.subscribe(progress)
    return job
