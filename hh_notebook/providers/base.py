"""The small interface every provider module fills, and the shared vocabulary.

A provider module is pure translation: it turns a :class:`GenerationRequest`
into an :class:`HttpCall` and an HTTP answer ``(status, headers, body)`` into a
normalized :class:`JobState` (or raises a :class:`ProviderError` subclass).
It never touches the network, sleeps or retries: that is the job lifecycle's
business (``hh_notebook.jobs``).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from ..errors import (
    AuthError,
    BadRequest,
    FieldError,
    InsufficientCredits,
    ProviderError,
    RateLimited,
    ServerError,
    ValidationError,
)
from ..request import GenerationRequest

__all__ = [
    "TERMINAL_STATUSES",
    "HttpCall",
    "JobState",
    "ListedTask",
    "Provider",
    "Status",
    "UnexpectedAnswer",
    "error_from_answer",
    "parse_json",
]

#: Headers whose values are secrets and must never be shown.
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})


class Status(str, Enum):
    """Normalized job status shared by every provider."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


#: Statuses after which the provider will not change its mind.
TERMINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.EXPIRED})


@dataclass(frozen=True)
class JobState:
    """One provider answer, normalized.

    ``progress`` is a percentage (0–100) when the provider reports one.
    ``urls`` keeps provider URLs exactly as returned (e.g. Segmind's
    ``status_url`` and ``response_url``). ``expires_at`` is a Unix time after
    which the output is gone, when the provider says so.
    """

    status: Status
    progress: float | None = None
    provider_job_id: str | None = None
    output_url: str | None = None
    error: str | None = None
    raw_status: str | None = None
    cost: float | None = None
    expires_at: float | None = None
    urls: dict[str, str] = field(default_factory=dict)
    created: float | None = None


@dataclass(frozen=True)
class HttpCall:
    """An HTTP request to make, described as plain data.

    Its ``repr`` hides secret header values, so an ``HttpCall`` can be logged.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any | None = None
    params: dict[str, Any] | None = None

    def __repr__(self) -> str:
        shown = {
            k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in self.headers.items()
        }
        return (
            f"HttpCall(method={self.method!r}, url={self.url!r}, headers={shown!r}, "
            f"params={self.params!r}, json={'...' if self.json is not None else None})"
        )


class UnexpectedAnswer(ProviderError):
    """A 2xx answer that could not be understood (missing id, not JSON...).

    On a submit this means the job may exist: the lifecycle marks it unknown.
    """


@dataclass(frozen=True)
class ListedTask:
    """One entry of a provider's task list, used to reconcile a lost submit."""

    provider_job_id: str
    created: float | None
    prompt: str | None
    model: str | None
    status: Status
    raw_status: str | None = None


def parse_json(body: bytes | str | None) -> Any | None:
    """Parse a response body as JSON; ``None`` when it is empty or not JSON.

    Error bodies are not guaranteed to be JSON (Segmind's 405 is HTML), so
    nothing here ever raises.
    """
    if body is None:
        return None
    try:
        return json.loads(body)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lower = name.lower()
    for key, value in headers.items():
        if key.lower() == lower:
            return value
    return None


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait before retrying, from ``Retry-After`` or Segmind's reset header.

    ``x-rate-limit-reset-at-utc`` may be an ISO-8601 time, an HTTP date or Unix
    seconds; ``Retry-After`` may be seconds or an HTTP date.
    """
    now = time.time() if now is None else now
    value = _header(headers, "retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - now)
    reset = _header(headers, "x-rate-limit-reset-at-utc")
    if reset:
        when = _parse_time(reset)
        if when is not None:
            return max(0.0, when - now)
    return None


def _parse_time(value: str) -> float | None:
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return number / 1000.0 if number > 1e11 else number
    parsed = email.utils.parsedate_tz(value)
    if parsed is not None:
        return float(email.utils.mktime_tz(parsed))
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def parse_timestamp(value: Any) -> float | None:
    """A Unix time from seconds, milliseconds or an ISO-8601 string; else ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if value <= 0:
            return None
        return value / 1000.0 if value > 1e11 else float(value)
    if isinstance(value, str) and value:
        return _parse_time(value)
    return None


def parse_progress(value: Any) -> float | None:
    """A progress percentage from ``42``, ``0.42``-free ints, or strings like ``"50%"``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().rstrip("%").strip()
        try:
            number = float(text)
        except ValueError:
            return None
    elif isinstance(value, (int, float)):
        number = float(value)
    else:
        return None
    return max(0.0, min(100.0, number))


def short_text(body: bytes | str | None, limit: int = 200) -> str:
    """A printable snippet of an answer body, for error messages."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_from_answer(
    provider: str,
    status_code: int,
    headers: Mapping[str, str],
    message: str | None,
    code: str | None = None,
) -> ProviderError:
    """The :class:`ProviderError` subclass matching an HTTP error status."""
    text = message or f"HTTP {status_code}"
    kwargs: dict[str, Any] = {
        "provider": provider,
        "status_code": status_code,
        "code": code,
        "message": text,
    }
    if status_code == 429:
        return RateLimited(retry_after=retry_after_seconds(headers), **kwargs)
    if status_code in (401, 403):
        return AuthError(**kwargs)
    if status_code in (402, 406) or (code or "").lower() in {
        "insufficient_credits", "insufficient_quota", "insufficient_balance"
    }:
        return InsufficientCredits(**kwargs)
    if 500 <= status_code <= 599:
        return ServerError(**kwargs)
    if 400 <= status_code <= 499 or status_code == 200:
        return BadRequest(**kwargs)
    return ProviderError(**kwargs)


def error_message(data: Any) -> tuple[str | None, str | None]:
    """``(message, code)`` from the usual error body shapes, tolerating anything."""
    if not isinstance(data, dict):
        return None, None
    err = data.get("error")
    if isinstance(err, dict):
        msg = err.get("message") or err.get("detail")
        code = err.get("code") or err.get("type")
        return (str(msg) if msg else None), (str(code) if code is not None else None)
    for key in ("error", "message", "detail", "msg", "fail_reason"):
        value = data.get(key)
        if isinstance(value, str) and value:
            code = data.get("error_code") or data.get("code")
            return value, (str(code) if code is not None else None)
        if isinstance(value, list) and value:
            return short_text(json.dumps(value)), None
    return None, None


def str_or_none(value: Any) -> str | None:
    """``value`` as a string, or ``None`` when it is missing or empty."""
    return str(value) if value not in (None, "") else None


def is_http_url(url: Any) -> bool:
    """True for absolute ``http://`` or ``https://`` URLs."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def same_origin(url: str, base: str) -> bool:
    """True when ``url`` points at the same scheme/host/port as ``base``."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def join_url(base: str, path: str) -> str:
    """``base`` + ``path``; an absolute ``path`` is returned unchanged."""
    if is_http_url(path):
        return path
    return urljoin(base.rstrip("/") + "/", path.lstrip("/"))


class Provider:
    """Base class of the provider translations.

    Subclasses set the class attributes and implement the ``build_*`` /
    ``parse_*`` methods. Durations are in *provider seconds* (as documented);
    the lifecycle scales them when talking to a sandbox.
    """

    name: ClassVar[str] = ""
    env_key: ClassVar[str] = ""
    base_url_env: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    #: Never poll more often than this (provider seconds).
    min_poll_interval: ClassVar[float] = 5.0
    #: Typical generation time (provider seconds), from the provider's page.
    typical_duration: ClassVar[tuple[float, float]] = (100.0, 180.0)
    #: Model versions this provider serves; the first is the default.
    models: ClassVar[tuple[str, ...]] = ("1.1",)
    #: True when :meth:`build_list` / :meth:`parse_list` can reconcile lost submits.
    supports_list: ClassVar[bool] = False
    #: True when output downloads need the API key (same-origin only).
    download_needs_key: ClassVar[bool] = False

    # -- helpers ---------------------------------------------------------
    def model_for(self, request: GenerationRequest) -> str:
        """The model version this request runs on here ("1.1" / "1.0")."""
        return request.model or self.models[0]

    def auth_headers(self, key: str) -> dict[str, str]:
        """Authentication headers for ``key``."""
        return {"Authorization": f"Bearer {key}"}

    def _headers(self, key: str, *, json_body: bool = False) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.auth_headers(key)}
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    def _error(self, status_code: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        data = parse_json(body)
        message, code = error_message(data)
        if message is None:
            snippet = short_text(body)
            message = f"HTTP {status_code}" + (f": {snippet}" if snippet else "")
        return error_from_answer(self.name, status_code, headers, message, code)

    # -- the translation interface ---------------------------------------
    def build_submit(self, request: GenerationRequest, key: str, base: str) -> HttpCall:
        """The HTTP request that submits ``request``."""
        raise NotImplementedError

    def parse_submit(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        """The job state from a submit answer; raises :class:`ProviderError` on errors."""
        raise NotImplementedError

    def build_poll(self, state: JobState, key: str, base: str) -> HttpCall:
        """The HTTP request that asks for the status of ``state``'s job."""
        raise NotImplementedError

    def parse_poll(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        """The job state from a status answer; raises :class:`ProviderError` on errors."""
        raise NotImplementedError

    def needs_result(self, state: JobState) -> bool:
        """True when a succeeded state still lacks its output URL (fetch the result)."""
        return False

    def build_result(self, state: JobState, key: str, base: str) -> HttpCall:
        """The HTTP request that fetches the full result (Segmind ``response_url``)."""
        raise NotImplementedError(f"{self.name} has no separate result endpoint")

    def parse_result(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        """The job state from a result answer."""
        return self.parse_poll(status, headers, body)

    def build_download(self, url: str, key: str, base: str) -> HttpCall:
        """The HTTP request that downloads the clip at ``url``.

        The key is only attached when the provider requires it *and* the URL
        is on the provider's own origin: a CDN never sees it.
        """
        headers = {"Accept": "video/mp4,*/*"}
        if self.download_needs_key and same_origin(url, base):
            headers.update(self.auth_headers(key))
        return HttpCall("GET", url, headers)

    def build_list(self, key: str, base: str, page: int = 1, size: int = 50) -> HttpCall:
        """The HTTP request listing recent tasks (only if :attr:`supports_list`)."""
        raise NotImplementedError(f"{self.name} has no task list")

    def parse_list(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> list[ListedTask]:
        """Tasks from a list answer (only if :attr:`supports_list`)."""
        raise NotImplementedError(f"{self.name} has no task list")


def image_urls(request: GenerationRequest, *, provider: str, allow_data_url: bool) -> tuple[
    str | None, list[str]
]:
    """The first-frame image and references as strings the provider accepts.

    http(s) URLs pass through; local images become ``data:`` URLs where the
    provider takes them. Otherwise a :class:`~hh_notebook.errors.ValidationError`
    says plainly that a URL is needed (``request.validate(provider)`` normally
    catches this first).
    """
    # With both an image and references the request is r2v: the image is not sent.
    image = request.effective_image
    first = _one_image(image, "image", provider, allow_data_url) if image is not None else None
    refs = [
        _one_image(img, f"reference_images[{i}]", provider, allow_data_url)
        for i, img in enumerate(request.reference_images or [])
    ]
    return first, refs


def _one_image(image: Any, field_name: str, provider: str, allow_data_url: bool) -> str:
    if isinstance(image, str) and is_http_url(image):
        return image
    if isinstance(image, str) and image.startswith("data:") and allow_data_url:
        return image
    if not allow_data_url:
        raise ValidationError(
            [
                FieldError(
                    field=field_name,
                    value=_describe(image),
                    allowed="an http(s) URL",
                    message=f"{provider} only accepts images by http(s) URL; "
                    "upload the image somewhere reachable and pass its URL",
                )
            ]
        )
    from ..media import load_image, to_data_url

    return to_data_url(load_image(image))


def _describe(image: Any) -> str:
    if isinstance(image, (bytes, bytearray)):
        return f"<{len(image)} bytes>"
    if isinstance(image, str):
        return image if len(image) < 120 else image[:117] + "..."
    return f"<{type(image).__name__}>"


def find_url(value: Any, keys: tuple[str, ...]) -> str | None:
    """The first non-empty URL string in ``value``: a string, a list, or an object whose
    ``keys`` are tried in order (nested values are searched the same way)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, list):
        for item in value:
            url = find_url(item, keys)
            if url:
                return url
        return None
    if isinstance(value, dict):
        for key in keys:
            url = find_url(value.get(key), keys)
            if url:
                return url
    return None
