"""The one HTTP client: a pooled :class:`httpx.AsyncClient` per event loop, sending the
provider translations' :class:`~hh_notebook.providers.base.HttpCall` objects, and streaming a
clip to a part file with Range. No sleeping and no retrying here: one call, one attempt (the
lifecycle decides what happens next).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..providers.base import HttpCall

__all__ = [
    "Answer",
    "DownloadFailed",
    "Gone",
    "TransientDownload",
    "close_http_client",
    "download_once",
    "http_client",
    "is_pre_send",
    "send",
]

_USER_AGENT = "hh_notebook/0.1"
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def http_client() -> httpx.AsyncClient:
    """The shared, pooled :class:`httpx.AsyncClient` of the running event loop."""
    loop = asyncio.get_running_loop()
    client = _pools.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=30.0),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            headers={"User-Agent": _USER_AGENT},
            follow_redirects=False,
        )
        _pools[loop] = client
    return client


async def close_http_client() -> None:
    """Close the running loop's shared client (a new one is made on next use)."""
    loop = asyncio.get_running_loop()
    client = _pools.pop(loop, None)
    if client is not None:
        await client.aclose()


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as the provider translations read it."""

    status: int
    headers: dict[str, str]
    body: bytes


async def send(call: HttpCall, read_timeout: float = 60.0) -> Answer:
    """Send ``call`` once; transport errors propagate."""
    answer = await http_client().request(
        call.method, call.url, headers=call.headers, json=call.json, params=call.params,
        timeout=httpx.Timeout(connect=10.0, read=read_timeout, write=60.0, pool=30.0),
    )
    return Answer(answer.status_code, dict(answer.headers), answer.content)


def is_pre_send(exc: BaseException) -> bool:
    """True when a transport error certainly happened before the request was sent."""
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


class DownloadFailed(Exception):
    """The clip could not be downloaded; ``retryable`` when a later resume may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class TransientDownload(Exception):
    """One download attempt failed in a way another attempt may fix (5xx, 429, a cut)."""


class Gone(Exception):
    """The result or clip no longer exists at the provider."""


async def download_once(call: HttpCall, part: Path, cap: int) -> None:
    """One attempt to complete ``part`` from ``call``: resumes with Range from what ``part``
    already holds. Raises :class:`TransientDownload` (try again), :class:`Gone` or
    :class:`DownloadFailed`; returns when the file is complete."""
    written = part.stat().st_size if part.exists() else 0
    headers = dict(call.headers)
    if written:
        headers["Range"] = f"bytes={written}-"
    try:
        async with http_client().stream("GET", call.url, headers=headers,
                                        follow_redirects=True) as answer:
            written = await _receive(answer, part, written, cap)
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise TransientDownload(f"{type(exc).__name__}: {exc}") from None


async def _receive(answer: httpx.Response, part: Path, written: int, cap: int) -> int:
    code = answer.status_code
    if code in (404, 410):
        raise Gone(f"the clip is gone (HTTP {code})")
    if code == 416 and written:
        part.unlink(missing_ok=True)  # our partial file does not match: start over
        raise TransientDownload("HTTP 416")
    if code == 429 or code >= 500:
        raise TransientDownload(f"HTTP {code}")
    if code not in (200, 206):
        raise DownloadFailed(f"HTTP {code} from the clip URL", retryable=False)
    append = code == 206 and written > 0 and _range_start(answer) == written
    if not append:
        written = 0
    total = _expected_total(answer, written)
    if total is not None and total > cap:
        raise DownloadFailed(f"the clip is {total} bytes, above the {cap}-byte cap",
                             retryable=False)
    out = await asyncio.to_thread(_open_part, part, append)
    try:
        async for chunk in answer.aiter_bytes():
            written += len(chunk)
            if written > cap:
                raise DownloadFailed(f"the clip exceeds the {cap}-byte cap", retryable=False)
            await asyncio.to_thread(out.write, chunk)
    finally:
        await asyncio.to_thread(out.close)
    if total is not None and written < total:
        raise TransientDownload(f"connection closed at {written} of {total} bytes")
    return written


def _open_part(path: Path, append: bool) -> Any:
    return open(path, "ab" if append else "wb")


def _range_start(answer: httpx.Response) -> int | None:
    value = answer.headers.get("content-range", "")
    # "bytes 100-199/1000"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _expected_total(answer: httpx.Response, offset: int) -> int | None:
    value = answer.headers.get("content-range")
    if value and "/" in value:
        total = value.rsplit("/", 1)[1]
        if total.isdigit():
            return int(total)
    length = answer.headers.get("content-length")
    if length and length.isdigit():
        return offset + int(length)
    return None
