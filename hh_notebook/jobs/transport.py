"""The one HTTP client: a pooled :class:`httpx.AsyncClient` per event loop, sending the
provider translations' :class:`~hh_notebook.providers.base.HttpCall` objects, and streaming a
clip to a part file with Range. No sleeping and no retrying here: one call, one attempt (the
lifecycle decides what happens next).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ..providers.base import HttpCall

__all__ = [
    "MAX_ANSWER_BYTES",
    "Answer",
    "AnswerTooLarge",
    "DownloadFailed",
    "Gone",
    "TransientDownload",
    "close_http_client",
    "download_once",
    "http_client",
    "is_pre_send",
    "is_private_host",
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


#: The largest API answer read (status and JSON answers are a few kilobytes; a bigger one is
#: a broken or hostile server, and is not held in memory).
MAX_ANSWER_BYTES = 1024 * 1024


class AnswerTooLarge(Exception):
    """An API answer was larger than :data:`MAX_ANSWER_BYTES`."""


async def send(call: HttpCall, read_timeout: float = 60.0,
               max_bytes: int = MAX_ANSWER_BYTES) -> Answer:
    """Send ``call`` once and read its answer, at most ``max_bytes`` of it; transport errors
    and :class:`AnswerTooLarge` propagate."""
    request = http_client().build_request(
        call.method, call.url, headers=call.headers, json=call.json, params=call.params,
        timeout=httpx.Timeout(connect=10.0, read=read_timeout, write=60.0, pool=30.0),
    )
    answer = await http_client().send(request, stream=True)
    try:
        body = bytearray()
        async for chunk in answer.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise AnswerTooLarge(f"the answer to {call.method} {_path(call.url)} is larger "
                                     f"than {max_bytes // 1024} KB")
    finally:
        await answer.aclose()
    return Answer(answer.status_code, dict(answer.headers), bytes(body))


def _path(url: str) -> str:
    return urlsplit(url).path[:80]


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


#: Redirects followed to reach a clip before giving up (a loop ends here).
MAX_REDIRECTS = 5


async def download_once(call: HttpCall, part: Path, cap: int, *,
                        allow_private: bool = False) -> None:
    """One attempt to complete ``part`` from ``call``: resumes with Range from what ``part``
    already holds. Redirects are followed by hand (at most :data:`MAX_REDIRECTS`), each hop
    checked: http(s) only, and no private, loopback or link-local address unless
    ``allow_private`` (the provider itself lives there: a sandbox). Raises
    :class:`TransientDownload` (try again), :class:`Gone` or :class:`DownloadFailed`;
    returns when the file is complete."""
    written = part.stat().st_size if part.exists() else 0
    url, headers = call.url, dict(call.headers)
    origin = _origin(call.url)
    if written:
        headers["Range"] = f"bytes={written}-"
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            await _check_address(url, allow_private)
            async with http_client().stream("GET", url, headers=headers,
                                            follow_redirects=False) as answer:
                if answer.status_code in (301, 302, 303, 307, 308):
                    location = answer.headers.get("location")
                    if not location:
                        raise DownloadFailed("a redirect without a Location", retryable=False)
                    url = urljoin(url, location)
                    if _origin(url) != origin:  # credentials never follow to another host
                        headers = {k: v for k, v in headers.items()
                                   if k.lower() not in ("authorization", "x-api-key")}
                    continue
                await _receive(answer, part, written, cap)
                return
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise TransientDownload(f"{type(exc).__name__}: {exc}") from None
    raise DownloadFailed(f"more than {MAX_REDIRECTS} redirects (a redirect loop?)",
                         retryable=False)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def is_private_host(host: str) -> bool:
    """True when ``host`` is (or names) a private, loopback, link-local or reserved address."""
    try:
        return _private(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return host.lower() in ("localhost", "localhost.localdomain")


def _private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (address.is_private or address.is_loopback or address.is_link_local
            or address.is_reserved or address.is_multicast or address.is_unspecified)


async def _check_address(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadFailed(f"refusing to download from a non-http(s) URL: {url[:100]!r}",
                             retryable=False)
    if allow_private:
        return
    host = parts.hostname
    addresses: list[str] = [host]
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or (443 if parts.scheme == "https" else 80),
                type=socket.SOCK_STREAM)
        except OSError:
            return  # unresolvable now: the request itself will say so
        addresses = [str(info[4][0]) for info in found]
    blocked = [a for a in addresses if is_private_host(a)]
    if blocked:
        raise DownloadFailed(
            f"refusing to download the clip from {host} ({blocked[0]}): a private, loopback "
            "or link-local address, which a provider's output URL never is",
            retryable=False)


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
