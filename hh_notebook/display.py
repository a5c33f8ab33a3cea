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
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = [
    "JobSnapshot",
    "TextProgress",
    "clip_src",
    "cost_text",
    "currency_of",
    "describe_params",
    "format_seconds",
    "in_kernel",
    "job_cost_text",
    "run_sync",
    "show",
    "small_poster",
    "static_html",
    "status_value",
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


def status_value(x: object) -> str:
    """An enum or a string → its plain string value (``Status.FAILED`` → ``"failed"``)."""
    return str(getattr(x, "value", x) or "")


def _image_label(image: object) -> str:
    from .media import safe_repr

    if isinstance(image, (str, pathlib.PurePath)):
        text = str(image)
        return text if text.startswith(("http://", "https://")) else pathlib.PurePath(text).name
    return str(safe_repr(image, 40))


def describe_params(request: Any) -> dict[str, Any]:
    """The request's parameters as short display strings (never image bytes).

    >>> from hh_notebook.request import GenerationRequest
    >>> describe_params(GenerationRequest(prompt="x", duration=8, seed=3))["duration"]
    '8 s'
    """
    mode = status_value(request.mode)
    params: dict[str, Any] = {
        "resolution": request.resolution,
        "duration": f"{request.duration} s",
        "aspect ratio": request.aspect_ratio if mode != "i2v" else "follows the image",
        "seed": request.seed if request.seed is not None else "random",
        "prompt extend": "on" if request.prompt_extend else "off",
        "watermark": "on" if request.watermark else "off",
    }
    if request.image is not None and mode == "i2v":
        params["first frame"] = _image_label(request.image)
    refs = list(request.reference_images or [])
    if refs:
        params["references"] = ", ".join(_image_label(r) for r in refs)
    if request.reference_type:
        params["reference type"] = request.reference_type
    return params


def cost_text(cost: object, currency: str | None = None) -> str:
    """A cost for display: a ``CostEstimate`` → its ``str``; a bare number in ``currency``
    (``"USD"`` by default, or ``"credits"`` as Apiframe bills); None → ``""``.

    >>> cost_text(0.7), cost_text(120.0, "credits"), cost_text(None)
    ('$0.70', '120 credits', '')
    """
    if cost is None:
        return ""
    if isinstance(cost, (int, float)):
        from .pricing import format_money

        return format_money(float(cost), currency or "USD")
    return str(cost)


def currency_of(request: Any, provider: str) -> str:
    """The currency ``provider`` bills ``request`` in (``"USD"`` when unknown)."""
    from .pricing import estimate_cost

    try:
        return str(estimate_cost(request, provider).currency or "USD")
    except Exception:  # noqa: BLE001 - an unpriceable request: fall back to dollars
        return "USD"


def job_cost_text(job: Any) -> str:
    """What ``job`` cost, for display (``""`` when unknown). A bare number (a cost read back
    from the journal) is shown in the currency the provider bills the job's request in."""
    if isinstance(job.cost, (int, float)):
        return cost_text(job.cost, currency_of(job.request, job.provider))
    return cost_text(job.cost)


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
        img: Image.Image = Image.open(io.BytesIO(poster_frame(path, at=0.5)))
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
        if eta is not None and eta >= 1 and status in ("queued", "running"):
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
        status = status_value(getattr(event, "status", ""))
        self.update(
            status,
            normalise_progress(getattr(event, "progress", None)),
            getattr(event, "elapsed", None),
            getattr(event, "eta", None),
            getattr(event, "message", None),
            final=status in ("succeeded", "failed", "expired", "unknown"),
        )


def normalise_progress(progress: float | None) -> float | None:
    """A job's progress percentage (0–100, as providers report it) as a fraction 0–1.

    >>> normalise_progress(42.0), normalise_progress(None)
    (0.42, None)
    """
    if progress is None:
        return None
    return max(0.0, min(float(progress) / 100.0, 1.0))


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to completion from synchronous code (the core's
    :func:`~hh_notebook.client.run_blocking`: one loop per thread, shared with every client)."""
    from .client import run_blocking

    return run_blocking(coro)


def show(job: Any, *, client: Any = None, **params: Any) -> Any:
    """Show a job: a live :class:`~hh_notebook.widgets.job.JobWidget` in a Jupyter kernel, a
    :class:`TextProgress` line elsewhere.

    ``job`` is a :class:`~hh_notebook.jobs.Job`, or a request / prompt (with request fields as
    keyword arguments) that is submitted first with ``client`` (default: the default client).
    In plain Python a submitted request is followed to its end with a progress line and the
    finished job is returned; in a kernel the widget is returned at once.

    >>> job = show("a white horse on a beach", duration=5, seed=7)   # doctest: +SKIP
    happyhorse: done · 100% · elapsed 4s · done: 3f2a….mp4
    """
    if not hasattr(job, "subscribe"):
        if client is None:
            from .client import default_client

            client = default_client()
        job = run_sync(client.submit(job, **params))
        if not in_kernel():
            progress = TextProgress()
            progress.update("queued", message=f"{job.request.mode.label} on {job.provider}")
            job.subscribe(progress)
            run_sync(job.wait())
            if not progress._closed:  # ended before any event reached the line
                progress.update(
                    status_value(job.status),
                    normalise_progress(job.progress),
                    job.elapsed,
                    None,
                    job.error or None,
                    final=True,
                )
            return job
    elif params:
        raise TypeError(f"show() got request fields {sorted(params)} with a job")
    if in_kernel():
        from IPython.display import display

        from .widgets.job import JobWidget

        widget = JobWidget(job, client=client)
        display(widget)
        return widget
    progress = TextProgress()
    job.subscribe(progress)
    return job


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


def _table_html(headers: Sequence[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th style='text-align:left'>{_esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{_esc(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table class='hh-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _table_text(headers: Sequence[str], rows: list[list[Any]]) -> str:
    cells = [list(headers)] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class JobTable:
    """The journal as a table (``%happyhorse jobs``): id, status, provider, cost, time, prompt."""

    headers: tuple[str, ...] = ("id", "status", "provider", "cost", "created", "prompt")

    def __init__(self, records: list[Any]) -> None:
        self.records = records

    def rows(self) -> list[list[Any]]:
        """One row of display strings per record."""
        import datetime

        out = []
        for r in self.records:
            when = datetime.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M:%S")
            cost = cost_text(r.cost, r.currency)
            out.append(
                [r.id[:8], r.status, f"{r.provider} {r.model}", cost, when, _short(r.prompt)]
            )
        return out

    def _repr_html_(self) -> str:
        if not self.records:
            return "<p>No jobs in the journal yet.</p>"
        return _table_html(self.headers, self.rows())

    def __repr__(self) -> str:
        if not self.records:
            return "No jobs in the journal yet."
        return _table_text(self.headers, self.rows())


class ConfigView:
    """``%happyhorse config``: which provider runs where; keys are reported as set or not,
    never shown."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        is_sandbox: bool,
        data_dir: str,
        providers: list[dict[str, Any]],
    ) -> None:
        self.provider = provider
        self.base_url = base_url
        self.is_sandbox = is_sandbox
        self.data_dir = data_dir
        self.providers = providers

    def _summary(self) -> list[tuple[str, str]]:
        where = (
            f"{self.base_url} (local sandbox: synthetic clips)"
            if self.is_sandbox
            else self.base_url
        )
        return [("provider", self.provider), ("base URL", where), ("data dir", self.data_dir)]

    def _rows(self) -> list[list[Any]]:
        return [
            [
                p["provider"],
                p["key variable"],
                "set" if p["key set"] else "not set",
                p["base URL variable"],
                p["base URL"],
            ]
            for p in self.providers
        ]

    _headers: tuple[str, ...] = ("provider", "key variable", "key", "base URL variable", "base URL")

    def _repr_html_(self) -> str:
        summary = "".join(f"<div><b>{_esc(k)}</b>: {_esc(v)}</div>" for k, v in self._summary())
        return summary + _table_html(self._headers, self._rows())

    def __repr__(self) -> str:
        summary = "\n".join(f"{k}: {v}" for k, v in self._summary())
        return summary + "\n\n" + _table_text(self._headers, self._rows())


class CostView:
    """``%happyhorse cost``: what finished jobs cost this session and in total."""

    def __init__(self, *, session: Any, total: Any, session_jobs: int, total_jobs: int) -> None:
        self.session = session
        self.total = total
        self.session_jobs = session_jobs
        self.total_jobs = total_jobs

    def __repr__(self) -> str:
        return (
            f"this session: {self.session} ({self.session_jobs} jobs)\n"
            f"total:        {self.total} ({self.total_jobs} jobs in the journal)"
        )

    def _repr_html_(self) -> str:
        return "<pre>" + _esc(repr(self)) + "</pre>"
