"""Static views of a job, for where no live widget can run: an exported notebook
(``nbconvert --to html``, nbviewer, GitHub) or a headless run (nbclient, papermill).

:func:`static_html` shows a small poster frame embedded as a JPEG data URI and a ``<video>``
whose ``src`` points at the local clip relative to the notebook, or a plain note when the
file is not there. :class:`StaticJobView` is that HTML as a cell output, refreshed in place.
Every user text is escaped.
"""

from __future__ import annotations

import base64
import html
import os
import pathlib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..media import poster_jpeg
from ..present import (
    STATUS_WORDS,
    describe_params,
    job_cost_text,
    normalise_progress,
    status_value,
)

__all__ = ["JobSnapshot", "StaticJobView", "clip_src", "small_poster", "snapshot_of",
           "static_html"]

#: Width in pixels of the poster frame embedded in exported HTML (kept small: it lives in
#: the .ipynb file).
POSTER_WIDTH = 320
POSTER_QUALITY = 70


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


def small_poster(video_path: os.PathLike[str] | str, width: int = POSTER_WIDTH) -> bytes:
    """A small JPEG of the clip's middle frame (at most ``width`` px on its long side)."""
    return poster_jpeg(video_path, at=0.5, box=width, quality=POSTER_QUALITY)


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
                f'<video class="hh-static-video" controls loop preload="none"'
                f' style="max-width:100%;max-height:480px" src="{src}"{poster_attr}>'
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


def snapshot_of(
    job: Any = None,
    *,
    request: Any = None,
    provider: str = "",
    model: str = "",
    estimate: Any = None,
    status: str | None = None,
    message: str = "",
) -> JobSnapshot:
    """A :class:`JobSnapshot` straight from a job (or from a request not submitted yet)."""
    request = job.request if job is not None else request
    snap = JobSnapshot(status=status or "validating", message=message)
    if request is not None:
        snap.prompt = request.prompt or ""
        snap.negative_prompt = request.negative_prompt or ""
        snap.mode = status_value(request.mode)
        snap.params = describe_params(request)
        snap.seed = request.seed
    snap.provider = provider or (job.provider if job is not None else "")
    snap.model = model or ((job.model or "") if job is not None else "")
    snap.estimate = str(estimate) if estimate is not None else ""
    if job is not None:
        snap.status = status or status_value(job.status)
        snap.provider_job_id = job.provider_job_id or ""
        terminal = snap.status in ("succeeded", "failed", "expired")
        snap.cost = job_cost_text(job) if terminal else ""
        snap.message = message or (job.error or "" if snap.status != "succeeded" else "")
        snap.video_path = pathlib.Path(job.video_path) if job.video_path else None
        snap.progress = normalise_progress(job.progress)
        snap.elapsed = job.elapsed
    return snap


class StaticJobView:
    """A job shown as static HTML only (no widget, no comm): for headless runs
    (``nbconvert --execute``, papermill) and dry runs. The output is refreshed in place when
    the job ends, so the saved notebook holds the finished clip's poster and link.
    """

    def __init__(
        self,
        job: Any = None,
        *,
        request: Any = None,
        provider: str = "",
        model: str = "",
        estimate: Any = None,
        status: str | None = None,
        message: str = "",
    ) -> None:
        self.job = job
        self._fields: dict[str, Any] = {
            "request": request, "provider": provider, "model": model,
            "estimate": estimate, "status": status, "message": message,
        }  # fmt: skip
        self._handle: Any = None

    def bind(self, job: Any) -> None:
        """Show ``job`` from now on (status and message then come from the job)."""
        self.job = job
        self._fields["status"] = None
        self._fields["message"] = ""

    def set_status(self, status: str, message: str = "") -> None:
        """Show a state that has no job behind it (a submit that failed or whose outcome is
        unknown), as :meth:`JobWidget.set_status <hh_notebook.widgets.job.JobWidget.set_status>`
        does."""
        self._fields["status"] = status
        self._fields["message"] = message
        self.refresh()

    def snapshot(self) -> JobSnapshot:
        """The state shown right now."""
        return snapshot_of(self.job, **self._fields)

    def _repr_mimebundle_(self, **_kwargs: Any) -> dict[str, str]:
        snap = self.snapshot()
        words = STATUS_WORDS.get(snap.status, snap.status)
        text = f"HappyHorse {snap.mode} job on {snap.provider}: {words}"
        if snap.message:
            text += f" — {snap.message}"
        return {"text/html": static_html(snap), "text/plain": text}

    def show(self) -> StaticJobView:
        """Display it, remembering where, so :meth:`refresh` can update it in place."""
        from IPython.display import display

        self._handle = display(self, display_id=True)
        return self

    def refresh(self) -> None:
        """Re-render the displayed output with the current state."""
        if self._handle is not None:
            self._handle.update(self)
