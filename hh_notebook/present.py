"""Words and numbers for people: statuses, durations, money, parameter values, and the one
status line plain Python prints while a job runs. Plain text only: no HTML, no IPython.

>>> format_money(0.7), format_seconds(75.2), display_text(False)
('$0.70', '1m 15s', 'off')
"""

from __future__ import annotations

import numbers
import os
import sys
from typing import Any, TextIO

from . import catalog
from .errors import ValidationError

__all__ = [
    "SANDBOX_LABEL",
    "SANDBOX_TAG",
    "STATUS_WORDS",
    "TextProgress",
    "cost_text",
    "describe_params",
    "display_text",
    "duration_text",
    "format_money",
    "format_seconds",
    "is_sandbox_work",
    "job_cost_text",
    "normalise_progress",
    "one_line",
    "safe_repr",
    "short_path",
    "shorten",
    "status_value",
]

USD = "USD"
#: How work on the sandbox is shown wherever money is: it is never paid, never summed with
#: money, and never shown as a bare amount.
SANDBOX_LABEL = "sandbox — not paid"
#: The journal tag of a job run against a sandbox (:func:`is_sandbox_work`).
SANDBOX_TAG = "sandbox"

#: What each status is called in progress lines, widgets and static views.
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


def status_value(x: object) -> str:
    """An enum or a string → its plain string value (``Status.FAILED`` → ``"failed"``)."""
    return str(getattr(x, "value", x) or "")


def one_line(exc: BaseException) -> str:
    """An error as one line: every problem of a validation error, joined; anything else's
    text with its whitespace collapsed.

    >>> one_line(ValueError("bad" + chr(10) + "   thing"))
    'bad thing'
    """
    if isinstance(exc, ValidationError):
        problems = "; ".join(str(e) for e in exc.errors) or str(exc)
        return problems if len(exc.errors) <= 1 else f"{len(exc.errors)} problems: {problems}"
    return " ".join(str(exc).split()) or type(exc).__name__


def format_money(amount: float, currency: str = USD) -> str:
    """An amount for display: ``"$1,234.50"`` in USD, ``"120 credits"`` in credits.

    >>> format_money(0.7), format_money(120, "credits"), format_money(12.5, "credits")
    ('$0.70', '120 credits', '12.50 credits')
    """
    if currency == USD:
        return f"${amount:,.2f}"
    return f"{amount:,.0f} {currency}" if amount == int(amount) else f"{amount:,.2f} {currency}"


def cost_text(cost: object, currency: str | None = None) -> str:
    """A cost for display: a ``CostEstimate`` → its ``str``; a bare number in ``currency``
    (``"USD"`` by default, or ``"credits"`` as Apiframe bills); None → ``""``.

    >>> cost_text(0.7), cost_text(120.0, "credits"), cost_text(None)
    ('$0.70', '120 credits', '')
    """
    if cost is None:
        return ""
    if isinstance(cost, (int, float)):
        return format_money(float(cost), currency or USD)
    return str(cost)


def is_sandbox_work(item: Any) -> bool:
    """True for a job, a journal record or a cost estimate of work done on a sandbox (its
    ``sandbox`` tag or flag): never paid, never counted as money.

    >>> from types import SimpleNamespace
    >>> is_sandbox_work(SimpleNamespace(tags={"sandbox": True})), is_sandbox_work(object())
    (True, False)
    """
    tags = getattr(item, "tags", None)
    if isinstance(tags, dict) and tags.get(SANDBOX_TAG) is True:
        return True
    return getattr(item, "sandbox", False) is True


def job_cost_text(job: Any) -> str:
    """What ``job`` cost, for display (``""`` when unknown; :data:`SANDBOX_LABEL` on a
    sandbox). A bare number (a cost read back from the journal) is shown in the currency its
    provider bills in."""
    if is_sandbox_work(job) or is_sandbox_work(job.cost):
        return SANDBOX_LABEL
    if isinstance(job.cost, (int, float)):
        try:
            currency = catalog.facts(job.provider).currency
        except KeyError:
            currency = USD
        return cost_text(job.cost, currency)
    return cost_text(job.cost)


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


def duration_text(seconds: float) -> str:
    """A rough duration for estimates: ``"40 s"``, ``"12 min"``, ``"2.5 h"``.

    >>> duration_text(40), duration_text(720), duration_text(9000)
    ('40 s', '12 min', '2.5 h')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def display_text(value: Any) -> str:
    """A parameter value as plain text for grids and reports: switches as ``on``/``off``,
    None as ``""``.

    >>> display_text(True), display_text(None), display_text(8)
    ('on', '', '8')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def shorten(text: str, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis.

    >>> shorten("a  long\\nprompt", 8)
    'a long …'
    """
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_path(path: str | os.PathLike[str], limit: int = 80) -> str:
    """A file path cut in the middle when longer than ``limit``, so that its file name (the
    part a reader recognises) stays whole.

    >>> short_path("/home/ana/" + "deep/" * 20 + "first.png", limit=40)
    '/home/ana/dee…p/deep/deep/deep/first.png'
    """
    text = os.fspath(path)
    if len(text) <= limit:
        return text
    tail = limit * 2 // 3
    return text[: limit - tail - 1] + "…" + text[-tail:]


def safe_repr(value: object, limit: int = 80) -> Any:
    """A short, safe stand-in for ``value`` in error messages and logs.

    Numbers, booleans and None stay as they are; text is cut to ``limit`` characters;
    bytes, images and arrays become a one-line summary.

    >>> safe_repr(b"x" * 5_000_000)
    '<5000000 bytes>'
    >>> safe_repr("a" * 100, limit=10)
    'aaaaaaaaa…'
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, numbers.Integral):  # numpy scalars and the like
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 1] + "…"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, os.PathLike):
        return short_path(value, limit)
    described = getattr(value, "safe_description", None)
    if callable(described):
        return described()
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"<array {dtype} {tuple(shape)}>"
    size = getattr(value, "size", None)
    mode = getattr(value, "mode", None)
    if mode is not None and isinstance(size, tuple):
        return f"<PIL image {mode} {size[0]}x{size[1]}>"
    if isinstance(value, (list, tuple)):
        items = [safe_repr(item, limit=40) for item in list(value)[:10]]
        more = ", …" if len(value) > 10 else ""
        return f"[{', '.join(repr(i) for i in items)}{more}]"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def image_name(image: object) -> str:
    """A short name for an image input: a URL as is, a path by its file name."""
    if isinstance(image, (str, os.PathLike)):
        text = os.fspath(image)
        return text if text.startswith(("http://", "https://")) else os.path.basename(text)
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
        params["first frame"] = image_name(request.image)
    refs = list(request.reference_images or [])
    if refs:
        params["references"] = ", ".join(image_name(r) for r in refs)
    if request.reference_type:
        params["reference type"] = request.reference_type
    return params


def normalise_progress(progress: float | None) -> float | None:
    """A job's progress percentage (0–100, as providers report it) as a fraction 0–1.

    >>> normalise_progress(42.0), normalise_progress(None)
    (0.42, None)
    """
    if progress is None:
        return None
    return max(0.0, min(float(progress) / 100.0, 1.0))


class TextProgress:
    """One status line for plain Python, rewritten in place while a job runs.

    Subscribe it to a job (``job.subscribe(TextProgress())``) or call :meth:`update` yourself::

        happyhorse: queued · 12% · elapsed 4s · about 30s left
    """

    def __init__(self, stream: TextIO | None = None, *, label: str = "happyhorse") -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self._width = 0
        self.closed = False

    def line(self, status: str, progress: float | None, elapsed: float | None,
             eta: float | None, message: str | None = None) -> str:
        """The text for one state (no line ending)."""
        pieces = [f"{self.label}: {STATUS_WORDS.get(status, status)}"]
        if progress is not None:
            pieces.append(f"{max(0.0, min(progress, 1.0)) * 100:3.0f}%")
        if elapsed is not None:
            pieces.append(f"elapsed {format_seconds(elapsed)}")
        if eta is not None and eta >= 1 and status in ("queued", "running"):
            pieces.append(f"about {format_seconds(eta)} left")
        if message:
            pieces.append(message)
        return " · ".join(pieces)

    def update(self, status: str, progress: float | None = None, elapsed: float | None = None,
               eta: float | None = None, message: str | None = None, *,
               final: bool = False) -> None:
        """Rewrite the line; ``final=True`` ends it with a newline (later updates are ignored)."""
        if self.closed:
            return
        text = self.line(status, progress, elapsed, eta, message)
        pad = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + pad + ("\n" if final else ""))
        self.stream.flush()
        self.closed = final

    def finish(self, job: Any) -> None:
        """End the line with the job's final state, if no event has ended it yet."""
        self.update(status_value(job.status), normalise_progress(job.progress), job.elapsed,
                    None, job.error or None, final=True)

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
