"""Reading provider answers: JSON bodies that may not be JSON, error shapes, retry hints,
timestamps, progress values, and URL helpers. Shared by every provider translation; nothing
here touches the network.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import (
    AuthError,
    BadRequest,
    InsufficientCredits,
    ProviderError,
    RateLimited,
    ServerError,
)

__all__ = [
    "error_from_answer",
    "error_message",
    "find_url",
    "is_http_url",
    "join_url",
    "parse_json",
    "parse_progress",
    "parse_timestamp",
    "retry_after_seconds",
    "same_origin",
    "short_text",
    "str_or_none",
]


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
